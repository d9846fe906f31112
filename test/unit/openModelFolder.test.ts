// Opening a user's model folder as the extension does (src/model/openModelFolder.ts, no VS Code needed): ONNX folders
// are rewritten and cached, packages validated, and every refusal names the file, the reason and what to do.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { TextTokenizer } from '../../src/core/tokenizer';
import { modelPathDecision, resolveModelPath } from '../../src/model/modelPath';
import { openModelFolder, openModelFolderInWorker } from '../../src/model/openModelFolder';
import { AttentionEngine } from '../../webview/engine/engine';
import { fusedTiny, gpt2Tiny } from '../fixtures/tinyModels';

ort.env.wasm.numThreads = 1;
const TOKENIZER = 'media/models/twin-diff/tokenizer.json';
const opts = (root: string, maxBytes = 64 * 2 ** 20) => ({ cacheRoot: join(root, 'cache'), maxBytes, limitSetting: 'attentionInspector.maxModelSizeMB' });

function onnxFolder(root: string, name: string, onnx: Uint8Array, config?: unknown): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), onnx);
  copyFileSync(TOKENIZER, join(dir, 'tokenizer.json'));
  if (config !== undefined) writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

test('an ONNX folder (onnx/model.onnx, tokenizer.json, config.json) is rewritten once, cached, and its attention on real text equals the reference', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ai-open-'));
  const c = { vocab: 8192, d: 16, heads: 2, layers: 2, maxT: 64, seed: 21 };
  const tiny = gpt2Tiny(c);
  const dir = onnxFolder(root, 'My GPT', tiny.onnx, tiny.config);
  const p = await openModelFolder(dir, opts(root));
  assert.equal(p.rewritten, true);
  assert.match(p.id, /^my-gpt-[0-9a-f]{10}$/);
  assert.ok(p.pkg.folder.startsWith(join(root, 'cache')), 'the rewritten package lives in the cache');
  assert.equal(p.pkg.manifest.source?.kind, 'rewritten-onnx');
  const stamp = statSync(p.pkg.onnxPath).mtimeMs;
  const again = await openModelFolder(dir, opts(root));
  assert.equal(again.pkg.folder, p.pkg.folder);
  assert.equal(statSync(again.pkg.onnxPath).mtimeMs, stamp, 'the second open reuses the cached rewrite');

  const tok = new TextTokenizer(JSON.parse(readFileSync(p.pkg.tokenizerPath, 'utf8')));
  const ids = tok.encode('def f(x):\n    return x + 1\n').ids;
  const engine = await AttentionEngine.create(ort, p.pkg.manifest, readFileSync(p.pkg.onnxPath), 'wasm');
  try {
    const a = await engine.analyze(ids);
    const ref = tiny.reference(ids);
    const q = ids.length - 1;
    const rows = await a.rows(q);
    for (let l = 0; l < c.layers; l++) for (let h = 0; h < c.heads; h++) {
      const got = rows.layers[l].heads[h].a;
      const want = ref.rows[l][h][q];
      for (let j = 0; j < ids.length; j++) assert.ok(Math.abs(got[j] - want[j]) < 1e-5, `layer ${l} head ${h} key ${j}`);
    }
  } finally {
    await engine.release();
  }
});

test('refusals name the file and the reason: over the size limit (with the setting), fused attention, an empty folder', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ai-open-'));
  const tiny = gpt2Tiny({ vocab: 8192, d: 32, heads: 2, layers: 1, maxT: 16, seed: 2 }); // about 2 MB
  const dir = onnxFolder(root, 'big', tiny.onnx, tiny.config);
  await assert.rejects(openModelFolder(dir, opts(root, 2 ** 20)), (e: Error) => /model\.onnx: \d+\.\d MB is over the limit of 1 MB; raise the setting attentionInspector\.maxModelSizeMB/.test(e.message));
  const fused = onnxFolder(root, 'fused', fusedTiny({ vocab: 8192, d: 8, heads: 2, layers: 1, maxT: 16, seed: 3 }));
  await assert.rejects(openModelFolder(fused, opts(root)), (e: Error) => e.message.includes(join(fused, 'onnx', 'model.onnx')) && /fused operator com\.microsoft\.MultiHeadAttention/.test(e.message) && /eager/.test(e.message));
  mkdirSync(join(root, 'empty'));
  await assert.rejects(openModelFolder(join(root, 'empty'), opts(root)), /no manifest\.json and no \.onnx file/);
  await assert.rejects(openModelFolder(join(root, 'missing'), opts(root)), /not a folder/);
});

test('a model package cannot reach outside its folder: ".." is refused by the schema, a symbolic link by the validator', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ai-open-'));
  const manifest = JSON.parse(readFileSync('media/models/twin-softmax/manifest.json', 'utf8'));
  const mk = (name: string, files: { onnx: string; tokenizer: string }) => {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, files }));
    copyFileSync(TOKENIZER, join(dir, 'tokenizer.json'));
    return dir;
  };
  const dotdot = mk('dotdot', { onnx: '../outside.onnx', tokenizer: 'tokenizer.json' });
  await assert.rejects(openModelFolder(dotdot, opts(root)), /files "\.\.\/outside\.onnx" must stay inside the package folder/);
  copyFileSync('media/models/twin-softmax/model.onnx', join(root, 'outside.onnx'));
  const linked = mk('linked', { onnx: 'model.onnx', tokenizer: 'tokenizer.json' });
  symlinkSync(join(root, 'outside.onnx'), join(linked, 'model.onnx'));
  await assert.rejects(openModelFolder(linked, opts(root)), /leads outside the model folder/);
  // The same package with the file inside opens, and is not rewritten.
  const fine = mk('fine', { onnx: 'model.onnx', tokenizer: 'tokenizer.json' });
  copyFileSync('media/models/twin-softmax/model.onnx', join(fine, 'model.onnx'));
  const p = await openModelFolder(fine, opts(root));
  assert.equal(p.rewritten, false);
  assert.equal(p.pkg.folder, fine);
});

test('workspace trust: a model path from workspace settings loads only in a trusted workspace; a user setting always does', () => {
  assert.deepEqual(modelPathDecision({ workspaceValue: '/m' }, true), { path: '/m', from: 'workspace' });
  const blocked = modelPathDecision({ workspaceValue: '/m', globalValue: '/u' }, false);
  assert.ok(blocked && 'blocked' in blocked && /not trusted/.test(blocked.blocked));
  assert.ok(blocked && 'blocked' in blocked && blocked.blocked.includes('/m'));
  assert.deepEqual(modelPathDecision({ workspaceFolderValue: '/f' }, true), { path: '/f', from: 'workspace' });
  assert.deepEqual(modelPathDecision({ globalValue: '/u' }, false), { path: '/u', from: 'user' });
  assert.equal(modelPathDecision({}, false), undefined);
  assert.equal(modelPathDecision(undefined, true), undefined);
  // Relative paths and ${workspaceFolder} resolve against the first workspace folder.
  assert.equal(resolveModelPath('models/gpt2', '/ws'), '/ws/models/gpt2');
  assert.equal(resolveModelPath('${workspaceFolder}/m', '/ws'), '/ws/m');
  assert.equal(resolveModelPath('/abs/m', '/ws'), '/abs/m');
  assert.equal(resolveModelPath('rel', undefined), 'rel');
});

test('the worker the extension uses (dist/openModelWorker.js) opens the same way and carries refusals back whole', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ai-open-'));
  const tiny = gpt2Tiny({ vocab: 8192, d: 16, heads: 2, layers: 1, maxT: 32, seed: 9 });
  const dir = onnxFolder(root, 'w', tiny.onnx, tiny.config);
  const inWorker = await openModelFolderInWorker('./dist/openModelWorker.js', dir, opts(root));
  const inline = await openModelFolder(dir, opts(root));
  assert.equal(inWorker.id, inline.id);
  assert.equal(inWorker.pkg.folder, inline.pkg.folder);
  assert.deepEqual(inWorker.pkg.manifest, inline.pkg.manifest);
  const fused = onnxFolder(root, 'fused', fusedTiny({ vocab: 8192, d: 8, heads: 2, layers: 1, maxT: 16, seed: 3 }));
  await assert.rejects(openModelFolderInWorker('./dist/openModelWorker.js', fused, opts(root)), (e: Error & { problems?: string[] }) => e.problems?.length === 1 && /fused operator/.test(e.message));
});
