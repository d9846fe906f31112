import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { parseManifest, type Manifest } from '../../src/core/manifest';
import { AttentionEngine, CancelledError, liveOutputs } from '../../webview/engine/engine';
import { maxAbsDiff } from '../../src/core/probe';

ort.env.wasm.numThreads = 1;

function load(pkg: string): { m: Manifest; onnx: Uint8Array } {
  const r = parseManifest(JSON.parse(readFileSync(`media/models/${pkg}/manifest.json`, 'utf8')));
  assert.ok(r.ok);
  return { m: r.manifest, onnx: readFileSync(`media/models/${pkg}/model.onnx`) };
}

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
              assert.ok(maxAbsDiff(layer.heads[h].a, r.diff[h]) < 1e-4, `${pkg} layer ${r.layer} head ${h}`);
              assert.ok(maxAbsDiff(layer.heads[h].a1!, r.a1[h]) < 1e-4);
            } else {
              assert.ok(maxAbsDiff(layer.heads[h].a, r.a[h]) < 1e-4, `${pkg} layer ${r.layer} head ${h}`);
            }
          }
        }
      }
      const logits = await analysis.logits();
      const V = m.vocabSize;
      assert.ok(maxAbsDiff(logits.subarray((fx.ids.length - 1) * V), fx.lastLogits) < 1e-4);
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

test('engine (wasm): columns, pooled maps, statistics, what-if, rollout and value-weighted agree with rows and the kernel twins', async () => {
  const { m, onnx } = load('twin-diff');
  const fx = JSON.parse(readFileSync('test/fixtures/models/twin-diff.json', 'utf8'));
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    const a = await engine.analyze(fx.ids);
    const T = fx.ids.length;
    const rowsAll = await Promise.all(Array.from({ length: T }, (_, i) => a.rows(i)));
    const layer = 2;
    const cols = await a.columns(layer, 3);
    for (let h = 0; h < m.heads; h++) for (let i = 0; i < T; i++) assert.ok(Math.abs(cols[h][i] - rowsAll[i].layers[layer].heads[h].a[3]) < 1e-6);
    const map = await a.map(layer, 1, 512);
    assert.equal(map.cells, T);
    for (let i = 0; i < T; i++) assert.ok(maxAbsDiff(map.data.subarray(i * T, (i + 1) * T), rowsAll[i].layers[layer].heads[1].a) < 1e-6);
    const stats = await a.stats(layer);
    const { headStatsCpu } = await import('../../webview/engine/kernels/headStats.cpu');
    const { q, k } = await a.qkTensors(layer);
    const lam = (await a.lambda(layer))!;
    const twin = headStatsCpu({ q, k, scale: m.scale, lse: await a.lse(layer), s1: 2, s2: 3, lambda: lam });
    for (const key of ['entropyA1', 'entropyA2', 'negativeMass', 'smallShare', 'firstTokenMass'] as const) assert.ok(Math.abs(stats[1][key] - twin[key]) < 1e-5, key);
    assert.ok(stats.every((s) => s.maxRowSumError < 1e-5));
    const wi = await a.whatIf(layer, 0, T - 1);
    assert.ok(maxAbsDiff(wi.subarray(0, T), rowsAll[T - 1].layers[layer].heads[0].a) < 1e-6);
    const ro = await a.rollout(T - 1, 'abs');
    assert.ok(Math.abs(ro.reduce((s, v) => s + v, 0) - 1) < 1e-4 && ro.every((v) => v >= 0));
    const vw = await a.valueWeighted(layer, 0, T - 1);
    assert.ok(vw.every((v) => v >= 0) && vw.some((v) => v > 0));
  } finally {
    await engine.release();
  }
});

test('engine: a second analysis started while the first runs wins; the first is cancelled and frees its outputs', async () => {
  const { m, onnx } = load('twin-diff');
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  const before = liveOutputs.count;
  try {
    const first = engine.analyze(Array.from({ length: 200 }, (_, i) => 1 + (i % 100)));
    const second = engine.analyze([0, 11, 12]);
    await assert.rejects(first, (e) => e instanceof CancelledError);
    const b = await second;
    assert.equal(b.tokens, 3);
    assert.equal(engine.liveAnalyses, 1);
    assert.equal(liveOutputs.count - before, 1 + m.layers * 5, 'only the winner\'s outputs are alive');
  } finally {
    await engine.release();
  }
  assert.equal(liveOutputs.count, before, 'release frees everything');
});

test('engine (wasm): a long map computed in row blocks (yielding between them) equals the one-pass CPU twin, and a read in flight survives a newer analysis', async () => {
  const { m, onnx } = load('twin-diff');
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    const T = 1500;
    const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % m.vocabSize);
    const a = await engine.analyze(ids);
    const mapping = a.map(2, 1, 256); // 5 blocks at this length
    const { attentionMapCpu } = await import('../../webview/engine/kernels/attentionMap.cpu');
    const { q, k } = await a.qkTensors(2);
    const whole = attentionMapCpu({ q, k, scale: m.scale, lse: await a.lse(2), s1: 2, s2: 3, lambda: (await a.lambda(2))!, maxCells: 256 });
    const blocked = await mapping;
    assert.equal(blocked.cells, 256);
    assert.equal(maxAbsDiff(blocked.data, whole), 0);
    // The statistics also run in blocks; they equal the one-pass fused twin exactly.
    const { layerStatsCpu } = await import('../../webview/engine/layerStats');
    const pairs: [number, number][] = [[0, 1], [2, 3]];
    const onePass = layerStatsCpu(q, k, m.scale, pairs, (await a.lambda(2))!);
    const inBlocks = await a.stats(2);
    assert.deepEqual(inBlocks, onePass.stats);
    // Start a read, replace the analysis while it runs: the read completes on its own buffers, then they are freed.
    const inFlight = a.map(3, 0, 256);
    const b = await engine.analyze(ids.slice(0, 10));
    const done = await inFlight;
    assert.equal(done.cells, 256);
    await assert.rejects(a.rows(0), /replaced by a newer one/);
    assert.equal((await b.rows(3)).layers.length, m.layers);
  } finally {
    await engine.release();
  }
});
