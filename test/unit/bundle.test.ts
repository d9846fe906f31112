// The build's outputs as they ship: the bundled models staged in dist/models (each distinct tokenizer once), and
// the bundle-size budgets checked on esbuild's metafiles (out/meta/, written by the same build the tests run on).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { loadBundledPackage, stageBundledModels, type BundledIndex } from '../../src/analysis/bundledModels';
import { TextTokenizer } from '../../src/core/tokenizer';
import { BUDGETS, checkBundles, type Metafile } from '../../scripts/bundleBudget.mjs';

const root = process.cwd();
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const sources = readdirSync('media/models', { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

test('bundled models: the build stages every source package, files byte-identical, each distinct tokenizer once', () => {
  const index = JSON.parse(readFileSync('dist/models/index.json', 'utf8')) as BundledIndex;
  assert.deepEqual(Object.keys(index.models).sort(), sources);
  for (const id of sources) {
    const e = index.models[id];
    assert.equal(sha(`dist/models/${id}/manifest.json`), sha(`media/models/${id}/manifest.json`), `${id}: manifest`);
    assert.equal(sha(`dist/models/${e.onnx}`), sha(`media/models/${id}/model.onnx`), `${id}: ONNX`);
    assert.equal(sha(`dist/models/${e.tokenizer}`), sha(`media/models/${id}/tokenizer.json`), `${id}: tokenizer`);
    assert.deepEqual(readdirSync(`dist/models/${id}`).sort(), ['manifest.json', 'model.onnx'], `${id}: no tokenizer copy in the model folder`);
  }
  const distinct = new Set(sources.map((id) => sha(`media/models/${id}/tokenizer.json`)));
  assert.equal(readdirSync('dist/models/shared').length, distinct.size, 'one file per distinct tokenizer');
  // The twins share theirs (the point of the dedupe): if they ever differ, this says so instead of silently shipping two.
  assert.equal(index.models['twin-diff'].tokenizer, index.models['twin-softmax'].tokenizer);
});

test('bundled models: loadBundledPackage gives each twin its manifest, ONNX and the shared tokenizer, which encodes as the source package does', () => {
  const text = 'def soft(x):\n    return 1 / (1 + exp(-x))  # 🫥 naïve\r\n';
  for (const id of ['twin-diff', 'twin-softmax']) {
    const pkg = loadBundledPackage(join(root, 'dist/models'), id);
    assert.deepEqual(pkg.manifest, JSON.parse(readFileSync(`media/models/${id}/manifest.json`, 'utf8')));
    assert.equal(pkg.onnxPath, join(root, 'dist/models', id, 'model.onnx'));
    const shipped = new TextTokenizer(JSON.parse(readFileSync(pkg.tokenizerPath, 'utf8'))).encode(text);
    const source = new TextTokenizer(JSON.parse(readFileSync(`media/models/${id}/tokenizer.json`, 'utf8'))).encode(text);
    assert.deepEqual(shipped, source);
  }
  assert.throws(() => loadBundledPackage(join(root, 'dist/models'), 'no-such-model'), /no valid entry for the bundled model "no-such-model"/);
});

test('bundled models: an index entry leading out of the models folder is refused; a source package that fails validation fails the build step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-bundled-'));
  try {
    const models = join(dir, 'models');
    cpSync('dist/models', models, { recursive: true });
    const index = JSON.parse(readFileSync(join(models, 'index.json'), 'utf8')) as BundledIndex;
    index.models['twin-diff'].tokenizer = '../../outside.json';
    writeFileSync(join(models, 'index.json'), JSON.stringify(index));
    assert.throws(() => loadBundledPackage(models, 'twin-diff'), /no valid entry/);
    const src = join(dir, 'src');
    mkdirSync(join(src, 'twin-diff'), { recursive: true });
    for (const f of ['manifest.json', 'model.onnx']) cpSync(`media/models/twin-diff/${f}`, join(src, 'twin-diff', f));
    await assert.rejects(stageBundledModels(src, join(dir, 'out')), /tokenizer\.json: file missing \(manifest\.json field files\.tokenizer\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const metafiles = () => readdirSync('out/meta').map((f) => ({ f, meta: JSON.parse(readFileSync(join('out/meta', f), 'utf8')) as Metafile }));

test('bundle budgets: the bundles the build just wrote fit, and zod arrives without its locales', () => {
  const metas = metafiles();
  assert.deepEqual(metas.map((m) => m.f).sort(), ['early.json', 'explorer.json', 'extension.json', 'extensionCore.json', 'openModelWorker.json', 'tokenizeWorker.json', 'webview.json']);
  for (const { f, meta } of metas) {
    assert.deepEqual(checkBundles(meta, BUDGETS.development).problems, [], f);
    const locales = Object.values(meta.outputs).flatMap((o) => Object.keys(o.inputs)).filter((i) => /zod\/v4\/locales\/(?!en\.js)/.test(i));
    assert.deepEqual(locales, [], `${f}: zod locales bundled (import * as z from 'zod', not { z })`);
  }
  // The early script is inlined into every panel page by the host: it must stay a few kilobytes (unminified here),
  // with nothing of ORT, zod or the engine in it.
  const early = Object.values(metas.find((m) => m.f === 'early.json')!.meta.outputs)[0];
  assert.ok(early.bytes < 4096, `dist/early.js is ${early.bytes} bytes`);
  assert.deepEqual(Object.keys(early.inputs).sort(), ['webview/early.ts', 'webview/fileCache.ts']);
});

test('bundle budgets: a 450 KB surprise fails the check, naming the file, its package and the bundle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-budget-'));
  try {
    // A real esbuild bundle: our webview entry plus a dependency that pulls 450 KB.
    mkdirSync(join(dir, 'node_modules/surprise'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/surprise/index.js'), `export const table = ${JSON.stringify('x'.repeat(450 * 1024))};\n`);
    writeFileSync(join(dir, 'entry.js'), `import { table } from 'surprise';\nimport '${join(root, 'webview/main.ts').replace(/\\/g, '/')}';\nconsole.log(table.length);\n`);
    const r = await esbuild.build({ entryPoints: [join(dir, 'entry.js')], bundle: true, write: false, metafile: true, outfile: join(dir, 'out.js'), format: 'esm', platform: 'browser', conditions: ['onnxruntime-web-use-extern-wasm'], absWorkingDir: dir, logLevel: 'silent' });
    const { problems, report } = checkBundles(r.metafile, BUDGETS.development);
    assert.ok(problems.some((p) => /over the bundle budget/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /surprise adds 450\.\d KB, over the per-package budget/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /node_modules\/surprise\/index\.js adds 450\.\d KB, over the per-file budget/.test(p)), problems.join('\n'));
    assert.match(report.join('\n'), /packages: surprise 450\.\d KB/, 'the top contributor is printed first');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
