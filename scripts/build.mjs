// Builds the extension (host bundle, webview bundle, ORT runtime files, probe model, the bundled models staged in
// dist/models) and, with --tests, the test bundles. `--watch` rebuilds the product bundles on change.
// Every product build checks the bundles against the size budgets of scripts/bundleBudget.mjs (a bundle over budget
// fails the build, and the largest contributors are printed); the metafiles are kept in out/meta/ for inspection.
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { BUDGETS, checkBundles } from './bundleBudget.mjs';
import { noticesFromBuild } from './thirdPartyNotices.mjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const watch = args.has('--watch');
const production = args.has('--production');
const require = createRequire(import.meta.url);

const common = { bundle: true, sourcemap: true, minify: production, logLevel: 'warning', absWorkingDir: root };
const budget = production ? BUDGETS.production : BUDGETS.development;

const products = [
  // Activation loads only dist/extension.js (vscode and nothing else); the rest is dist/extensionCore.js, which
  // extension.ts require()s on first use (cjs bundles have no code splitting, so the split is two bundles).
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', './extensionCore.js'] },
  { ...common, entryPoints: ['src/extensionCore.ts'], outfile: 'dist/extensionCore.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  // Opening a user's model (decode, rewrite, validate) runs in this worker thread, off the extension host's thread.
  { ...common, entryPoints: ['src/model/openModelWorker.ts'], outfile: 'dist/openModelWorker.js', platform: 'node', format: 'cjs', target: 'node20' },
  // Tokenization (the window around the cursor, or a whole text) runs in this worker thread, off the extension host's.
  { ...common, entryPoints: ['src/analysis/tokenizeWorker.ts'], outfile: 'dist/tokenizeWorker.js', platform: 'node', format: 'cjs', target: 'node20' },
  {
    ...common,
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    // ORT's build that loads its wasm glue and binary from ort.env.wasm.wasmPaths (our dist/ort) instead of inlining them.
    conditions: ['onnxruntime-web-use-extern-wasm'],
  },
  // Inlined in the panel page's head by the host (src/panel/html.ts): starts the first model's files before webview.js loads.
  { ...common, sourcemap: false, entryPoints: ['webview/early.ts'], outfile: 'dist/early.js', platform: 'browser', format: 'iife', target: 'es2022' },
  // The explorer (a webview panel in the editor area): it draws what the side panel's analyses answer, no runtime.
  { ...common, entryPoints: ['webview/explorer/main.ts'], outfile: 'dist/explorer.js', platform: 'browser', format: 'esm', target: 'es2022' },
];

/**
 * ORT's glue (.mjs) as it is, its binaries gzipped (src/core/ortFiles.ts says why). Gzip level 9 of 39 MB takes a few
 * seconds, so a .gz that inflates to exactly its source (a fraction of a second to check) is kept.
 */
function copyOrtFiles() {
  const src = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm'));
  const out = join(root, 'dist/ort');
  mkdirSync(out, { recursive: true });
  for (const f of ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.mjs']) copyFileSync(join(src, f), join(out, f));
  for (const f of ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.wasm']) {
    rmSync(join(out, f), { force: true }); // a raw binary an earlier build copied: no longer shipped, nor loaded
    const gz = join(out, `${f}.gz`);
    const wasm = readFileSync(join(src, f));
    if (!existsSync(gz) || !gunzipSync(readFileSync(gz)).equals(wasm)) writeFileSync(gz, gzipSync(wasm, { level: 9 }));
  }
}

/** Writes the generated artefacts: the probe model, the stats graphs, and the manifest's JSON schema (from the zod schema). */
async function writeGenerated() {
  const out = join(root, 'out/tools/buildTools.cjs');
  await esbuild.build({ ...common, sourcemap: false, entryPoints: ['scripts/buildTools.ts'], outfile: out, platform: 'node', format: 'cjs' });
  const { buildProbeModel, manifestJsonSchema, stageBundledModels, statsGraph, STATS_FILES } = require(out);
  writeFileSync(join(root, 'dist/probe.onnx'), buildProbeModel());
  for (const kind of ['softmax', 'diff']) writeFileSync(join(root, 'dist', STATS_FILES[kind]), statsGraph(kind));
  mkdirSync(join(root, 'media/models'), { recursive: true });
  writeFileSync(join(root, 'media/models/manifest.schema.json'), JSON.stringify(manifestJsonSchema(), null, 2) + '\n');
  // The bundled packages, validated in full, staged with each distinct tokenizer once (src/analysis/bundledModels.ts).
  await stageBundledModels(join(root, 'media/models'), join(root, 'dist/models'));
}

/** Builds one product bundle with a metafile, keeps it in out/meta/, and returns the budget check's problems. */
async function buildProduct(p) {
  const r = await esbuild.build({ ...p, metafile: true });
  mkdirSync(join(root, 'out/meta'), { recursive: true });
  writeFileSync(join(root, 'out/meta', p.outfile.replace(/^dist\//, '').replace(/\.js$/, '.json')), JSON.stringify(r.metafile));
  const { problems, report } = checkBundles(r.metafile, budget);
  console.log(`[build] ${report.join('\n[build] ')}`);
  return problems;
}

function testEntries(dir) {
  return readdirSync(join(root, dir)).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f));
}

async function buildTests() {
  rmSync(join(root, 'out/test'), { recursive: true, force: true }); // no stale bundles of deleted tests
  await Promise.all([
    esbuild.build({ ...common, entryPoints: testEntries('test/unit'), outdir: 'out/test/unit', outExtension: { '.js': '.cjs' }, platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-web', 'onnxruntime-node', 'esbuild'] }),
    esbuild.build({ ...common, entryPoints: ['test/browser/page.ts'], outfile: 'out/test/browser/page.js', platform: 'browser', format: 'esm', target: 'es2022', conditions: ['onnxruntime-web-use-extern-wasm'] }),
    esbuild.build({ ...common, entryPoints: ['test/e2e/suite/index.ts'], outfile: 'out/test/e2e/suite/index.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'mocha'] }),
    esbuild.build({ ...common, entryPoints: ['test/e2e/keybindings/index.ts'], outfile: 'out/test/e2e/keybindings/index.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] }),
    esbuild.build({ ...common, entryPoints: ['test/fixtures/writeTinyModels.ts'], outfile: 'out/test/writeTinyModels.cjs', platform: 'node', format: 'cjs', target: 'node20' }),
  ]);
}

mkdirSync(join(root, 'dist'), { recursive: true });
copyOrtFiles();
await writeGenerated();
if (watch) {
  for (const p of products) await (await esbuild.context(p)).watch();
  console.log('[build] watching src/ and webview/ …');
} else {
  const problems = (await Promise.all(products.map(buildProduct))).flat();
  if (problems.length) {
    console.error(`[build] bundle budget exceeded (${production ? 'production' : 'development'} budgets, scripts/bundleBudget.mjs):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  // The licences of what the bundles (and dist/ort) contain, from the metafiles just written.
  writeFileSync(join(root, 'ThirdPartyNotices.txt'), noticesFromBuild(root).text);
  if (args.has('--tests')) await buildTests();
  if (args.has('--bench')) {
    await esbuild.build({ ...common, entryPoints: ['bench/engineBench.ts'], outfile: 'out/bench/engineBench.cjs', platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-web', 'onnxruntime-node'] });
    await esbuild.build({ ...common, entryPoints: ['bench/openModelBench.ts'], outfile: 'out/bench/openModelBench.cjs', platform: 'node', format: 'cjs', target: 'node20', external: ['onnxruntime-web', 'onnxruntime-node'] });
    await esbuild.build({ ...common, entryPoints: ['bench/editorBench.ts'], outfile: 'out/bench/editor/index.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] });
    await esbuild.build({ ...common, entryPoints: ['bench/browserBench.ts'], outfile: 'out/bench/browserBench.js', platform: 'browser', format: 'esm', target: 'es2022', conditions: ['onnxruntime-web-use-extern-wasm'] });
  }
  console.log('[build] done');
}
