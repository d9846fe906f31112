import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { parseManifest, type Manifest } from '../../src/core/manifest';
import { AttentionEngine } from '../../webview/engine/engine';

ort.env.wasm.numThreads = 1;

function load(pkg: string): { m: Manifest; onnx: Uint8Array } {
  const r = parseManifest(JSON.parse(readFileSync(`media/models/${pkg}/manifest.json`, 'utf8')));
  assert.ok(r.ok);
  return { m: r.manifest, onnx: readFileSync(`media/models/${pkg}/model.onnx`) };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

test('engine (Node, wasm): rows for one query, every layer and head, equal the PyTorch fixtures (1e-4)', async () => {
  for (const pkg of ['twin-diff', 'twin-softmax']) {
    const { m, onnx } = load(pkg);
    const fx = JSON.parse(readFileSync(`test/fixtures/models/${pkg}.json`, 'utf8'));
    const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
    try {
      assert.equal(engine.backend, 'wasm');
      const analysis = await engine.analyze(fx.ids);
      for (const query of [fx.ids.length - 1, Math.floor(fx.ids.length / 2)]) {
        const rows = await analysis.rows(query);
        for (const r of fx.rows.filter((r: { query: number }) => r.query === query)) {
          const layer = rows.layers[r.layer];
          for (let h = 0; h < m.heads; h++) {
            if (m.attention === 'diff-v1') {
              assert.ok(Math.abs(layer.lambda! - r.lambda) < 1e-5);
              assert.ok(maxDiff(layer.heads[h].a, r.diff[h]) < 1e-4, `${pkg} layer ${r.layer} head ${h}`);
              assert.ok(maxDiff(layer.heads[h].a1!, r.a1[h]) < 1e-4);
            } else {
              assert.ok(maxDiff(layer.heads[h].a, r.a[h]) < 1e-4, `${pkg} layer ${r.layer} head ${h}`);
            }
          }
        }
      }
      const logits = await analysis.logits();
      const V = m.vocabSize;
      assert.ok(maxDiff(logits.subarray((fx.ids.length - 1) * V), fx.lastLogits) < 1e-4);
    } finally {
      await engine.release();
    }
  }
});

test('engine: a newer analysis replaces the older one and frees its outputs', async () => {
  const { m, onnx } = load('twin-diff');
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    const first = await engine.analyze([0, 5, 6, 7]);
    assert.equal(engine.liveAnalyses, 1);
    const second = await engine.analyze([0, 8, 9]);
    assert.equal(first.disposed, true);
    assert.equal(engine.liveAnalyses, 1);
    await assert.rejects(first.rows(1), /replaced by a newer one/);
    assert.equal((await second.rows(2)).layers.length, m.layers);
  } finally {
    await engine.release();
  }
  assert.equal(engine.liveAnalyses, 0);
});

test('engine: bad input ends in a clear error and the engine stays usable', async () => {
  const { m, onnx } = load('twin-softmax');
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    await assert.rejects(engine.analyze([]), /token list is empty/);
    await assert.rejects(engine.analyze([0, m.vocabSize]), new RegExp(`token id ${m.vocabSize} at position 1 is outside the vocabulary`));
    await assert.rejects(engine.analyze([0, -1]), /outside the vocabulary/);
    await assert.rejects(engine.analyze(new Array(m.maxContext + 1).fill(1)), /exceed the model's maximum context/);
    const one = await engine.analyze([42]);
    const rows = await one.rows(0);
    assert.deepEqual(Array.from(rows.layers[0].heads[0].a), [1], 'a single token attends to itself with weight 1');
    await assert.rejects(one.rows(1), /query 1 is outside 0\.\.0/);
  } finally {
    await engine.release();
  }
});

test('engine: a model whose outputs do not match its manifest is refused with the names', async () => {
  const { m, onnx } = load('twin-softmax');
  const wrong: Manifest = { ...m, outputs: { ...m.outputs, q: { ...m.outputs.q, name: 'query_{layer}' } } };
  await assert.rejects(AttentionEngine.create(ort, wrong, onnx, 'wasm'), /does not match its manifest: the graph has no "query_0"/);
});
