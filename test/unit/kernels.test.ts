// CPU twins of the engine's kernels, checked on the twin-diff model's real Q/K (ORT, wasm) against the row
// reference, which itself equals PyTorch's rows (modelPackage.test.ts), and against dense re-computations.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { Tensor, diffRow, softmaxRow } from '../../src/core/attention';
import { parseManifest, type Manifest } from '../../src/core/manifest';
import { attentionColumnsCpu } from '../../webview/engine/kernels/attentionColumns.cpu';
import { attentionMapCpu } from '../../webview/engine/kernels/attentionMap.cpu';
import { headStatsCpu } from '../../webview/engine/kernels/headStats.cpu';
import { rolloutStepCpu, valueWeightedCpu } from '../../webview/engine/kernels/rollout.cpu';
import { rowLseCpu } from '../../webview/engine/kernels/rowLse.cpu';
import { WHAT_IF_VIEWS, viewShares, whatIfCpu } from '../../webview/engine/kernels/whatIf.cpu';
import { maxAbsDiff } from '../../src/core/probe';
import { wholeTextFeeds } from '../fixtures/feeds';

ort.env.wasm.numThreads = 1;

interface Layer { q: Tensor; k: Tensor; lambda: number; vnorm: Float32Array; rowScale: Float32Array }
let cached: { m: Manifest; layers: Layer[]; T: number; fx: { rows: { layer: number; query: number; diff: number[][] }[] } } | undefined;
async function twinDiff() {
  if (cached) return cached;
  const r = parseManifest(JSON.parse(readFileSync('media/models/twin-diff/manifest.json', 'utf8')));
  assert.ok(r.ok);
  const m = r.manifest;
  const fx = JSON.parse(readFileSync('test/fixtures/models/twin-diff.json', 'utf8'));
  const s = await ort.InferenceSession.create(readFileSync('media/models/twin-diff/model.onnx'), { executionProviders: ['wasm'] });
  const T = fx.ids.length;
  const out = await s.run(wholeTextFeeds(ort, m, fx.ids));
  await s.release();
  const get = (n: string, l: number) => out[n.replace('{layer}', String(l))];
  const layers = Array.from({ length: m.layers }, (_, l) => ({
    q: new Tensor(get(m.outputs.q.name, l).data as Float32Array, get(m.outputs.q.name, l).dims, m.outputs.q.layout),
    k: new Tensor(get(m.outputs.k.name, l).data as Float32Array, get(m.outputs.k.name, l).dims, m.outputs.k.layout),
    lambda: (get(m.outputs.lambda!.name, l).data as Float32Array)[0],
    vnorm: get(m.outputs.valueNorm!.name, l).data as Float32Array,
    rowScale: get(m.outputs.rowScale!.name, l).data as Float32Array,
  }));
  return (cached = { m, layers, T, fx });
}

test('rows from the CPU reference equal PyTorch to 1e-5 (twin-diff, every layer and head)', async () => {
  const { m, layers, fx } = await twinDiff();
  for (const r of fx.rows) {
    const L = layers[r.layer];
    for (let h = 0; h < m.heads; h++) assert.ok(maxAbsDiff(diffRow(L.q, L.k, m, h, r.query, L.lambda).diff, r.diff[h]) < 1e-5);
  }
});

test('rowLse + columns: a key\'s column equals that entry of every row, and is 0 above the diagonal', async () => {
  const { m, layers, T } = await twinDiff();
  const L = layers[1];
  const lse = rowLseCpu({ q: L.q, k: L.k, scale: m.scale });
  for (const key of [0, 3, T - 1]) {
    const cols = attentionColumnsCpu({ q: L.q, k: L.k, scale: m.scale, lse, key });
    for (let s = 0; s < m.qkHeads; s++) {
      for (let i = 0; i < T; i++) {
        const expected = i < key ? 0 : softmaxRow(L.q, L.k, s, i, m.scale)[key];
        assert.ok(Math.abs(cols[s * T + i] - expected) < 1e-6, `s=${s} i=${i} key=${key}`);
        if (i < key) assert.equal(cols[s * T + i], 0);
      }
    }
  }
});

test('pooled map: with enough cells it is the full A1 − λA2 map; pooled, each cell is its block\'s signed max-|a|', async () => {
  const { m, layers, T } = await twinDiff();
  const L = layers[2];
  const lse = rowLseCpu({ q: L.q, k: L.k, scale: m.scale });
  const full = Array.from({ length: T }, (_, i) => diffRow(L.q, L.k, m, 1, i, L.lambda).diff);
  const exact = attentionMapCpu({ q: L.q, k: L.k, scale: m.scale, lse, s1: 2, s2: 3, lambda: L.lambda, maxCells: 512 });
  assert.equal(exact.length, T * T);
  for (let i = 0; i < T; i++) assert.ok(maxAbsDiff(exact.subarray(i * T, (i + 1) * T), full[i]) < 1e-6, `row ${i}`);
  const P = 7;
  const pooled = attentionMapCpu({ q: L.q, k: L.k, scale: m.scale, lse, s1: 2, s2: 3, lambda: L.lambda, maxCells: P });
  for (let r = 0; r < P; r++) for (let c = 0; c < P; c++) {
    let best = 0;
    for (let i = Math.floor((r * T) / P); i < Math.floor(((r + 1) * T) / P); i++)
      for (let j = Math.floor((c * T) / P); j < Math.floor(((c + 1) * T) / P); j++) if (Math.abs(full[i][j]) > Math.abs(best)) best = full[i][j];
    assert.ok(Math.abs(pooled[r * P + c] - best) < 1e-6, `cell ${r},${c}`);
  }
  assert.ok(pooled.some((v) => v < 0), 'DIFF maps keep their negative cells');
});

test('head statistics equal the same figures computed from full rows; rows sum to 1 − λ', async () => {
  const { m, layers, T } = await twinDiff();
  const L = layers[0];
  const lse = rowLseCpu({ q: L.q, k: L.k, scale: m.scale });
  const st = headStatsCpu({ q: L.q, k: L.k, scale: m.scale, lse, s1: 0, s2: 1, lambda: L.lambda });
  let e1 = 0, neg = 0, small = 0, first = 0;
  for (let i = 0; i < T; i++) {
    const r = diffRow(L.q, L.k, m, 0, i, L.lambda);
    for (let j = 0; j <= i; j++) {
      if (r.a1[j] > 0) e1 -= r.a1[j] * Math.log(r.a1[j]);
      if (r.diff[j] < 0) neg -= r.diff[j];
      if (Math.abs(r.diff[j]) < 1e-3) small++;
    }
    first += r.diff[0];
  }
  assert.ok(Math.abs(st.entropyA1 - e1 / T) < 1e-5);
  assert.ok(Math.abs(st.negativeMass - neg / T) < 1e-5);
  assert.ok(Math.abs(st.smallShare - small / ((T * (T + 1)) / 2)) < 1e-9);
  assert.ok(Math.abs(st.firstTokenMass - first / T) < 1e-5);
  assert.ok(st.maxRowSumError < 1e-5, `rows sum to 1 − λ (error ${st.maxRowSumError})`);
  assert.ok(st.entropyA2 > 0);
});

test('what-if views: the first is A1 − λA2, the others follow their definitions; shares of zeros and negatives', async () => {
  const { m, layers, T } = await twinDiff();
  const L = layers[3];
  const lse = rowLseCpu({ q: L.q, k: L.k, scale: m.scale });
  const query = T - 1;
  const v = whatIfCpu({ q: L.q, k: L.k, scale: m.scale, lse, s1: 0, s2: 1, lambda: L.lambda, query });
  const r = diffRow(L.q, L.k, m, 0, query, L.lambda);
  const view = (i: number) => v.subarray(i * T, (i + 1) * T);
  assert.equal(WHAT_IF_VIEWS.length, 8);
  assert.ok(maxAbsDiff(view(0), r.diff) < 1e-6);
  assert.ok(maxAbsDiff(view(1), r.diff.map((a) => Math.max(0, a))) < 1e-6);
  assert.ok(maxAbsDiff(view(2), r.a1.map((a, j) => (r.diff[j] > 0 ? a : 0))) < 1e-6);
  assert.ok(maxAbsDiff(view(4), r.a1.map((a, j) => (j <= query ? 2 * (a - 0.5) : 0))) < 1e-6);
  const sp = view(3);
  assert.ok(Math.abs(sp.reduce((s, a) => s + a, 0) - 1) < 1e-5 || sp.every((a) => a === 0) || sp.reduce((s, a) => s + a, 0) < 1, 'softpick mass ≤ 1');
  assert.ok(view(5).reduce((s, a) => s + a, 0) < 1, 'softmax-plus-one rows sum below 1');
  const shares = viewShares(v, T, query);
  assert.ok(shares[1].zeros > 0 && shares[1].negatives === 0, 'rectified: exact zeros, no negatives');
  assert.ok(shares[0].negatives > 0, 'A1 − λA2 has negative weights here');
  assert.ok(shares[4].negatives > 0.5, 'the fixed shift makes most weights negative');
});

test('rollout step equals a dense computation; value-weighted row is |a|·‖v‖·row scale', async () => {
  const { m, layers, T } = await twinDiff();
  const L = layers[1];
  const lse = rowLseCpu({ q: L.q, k: L.k, scale: m.scale });
  const query = T - 2;
  const r = new Float32Array(T).map((_, j) => (j <= query ? 1 / (query + 1) : 0));
  const step = rolloutStepCpu({ q: L.q, k: L.k, scale: m.scale, lse, pairs: [[0, 1], [2, 3]], lambda: L.lambda, mode: 'abs', query, r });
  const expected = new Float64Array(T);
  for (let t = 0; t <= query; t++) {
    const mean = new Float64Array(T);
    for (let h = 0; h < m.heads; h++) diffRow(L.q, L.k, m, h, t, L.lambda).diff.forEach((a, j) => (mean[j] += Math.abs(a) / m.heads));
    const z = mean.reduce((s, a) => s + a, 0);
    for (let j = 0; j <= t; j++) expected[j] += r[t] * (0.5 * mean[j]) / z + (j === t ? 0.5 * r[t] : 0);
  }
  assert.ok(maxAbsDiff(step, expected) < 1e-5);
  assert.ok(Math.abs(step.reduce((s, a) => s + a, 0) - 1) < 1e-5, 'rollout keeps unit mass');
  const row = diffRow(L.q, L.k, m, 0, query, L.lambda).diff;
  const vn = L.vnorm.subarray(0, T);
  const vw = valueWeightedCpu(row, vn, L.rowScale[query]);
  assert.ok(maxAbsDiff(vw, row.map((a, j) => Math.abs(a) * vn[j] * L.rowScale[query])) < 1e-9);
});
