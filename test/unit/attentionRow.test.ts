import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROBE_DIM, maxAbsDiff, probeInput, probeReference, probeWeights } from '../../src/core/probe';
import { attentionRowCpu } from '../../webview/engine/kernels/attentionRow.cpu';

function project(x: Float32Array, w: Float32Array, T: number, D: number): Float32Array {
  const out = new Float32Array(T * D);
  for (let t = 0; t < T; t++) for (let j = 0; j < D; j++) {
    let s = 0;
    for (let p = 0; p < D; p++) s += x[t * D + p] * w[p * D + j];
    out[t * D + j] = s;
  }
  return out;
}

test('CPU twin rows equal the rows of the full float64 probe reference', () => {
  const T = 29;
  const D = PROBE_DIM;
  const x = probeInput(T);
  const w = probeWeights();
  const q = project(x, w.wq, T, D);
  const k = project(x, w.wk, T, D);
  const full = probeReference(x, T);
  for (const i of [0, 1, 14, T - 1]) {
    const row = attentionRowCpu({ q, k, tokens: T, headDim: D, query: i, scale: 1 / Math.sqrt(D) });
    assert.ok(maxAbsDiff(row, full.subarray(i * T, (i + 1) * T)) < 1e-6, `row ${i}`);
  }
});

test('CPU twin keeps large logits finite (max subtraction)', () => {
  const q = new Float32Array([100, 0, 100, 0]);
  const k = new Float32Array([100, 0, -100, 0]);
  const row = attentionRowCpu({ q, k, tokens: 2, headDim: 2, query: 1, scale: 1 });
  assert.deepEqual(Array.from(row), [1, 0]);
});

test('CPU twin rejects bad shapes with a message naming the problem', () => {
  const q = new Float32Array(6);
  assert.throws(() => attentionRowCpu({ q, k: q, tokens: 3, headDim: 2, query: 3, scale: 1 }), /query 3 is outside 0\.\.2/);
  assert.throws(() => attentionRowCpu({ q, k: new Float32Array(4), tokens: 3, headDim: 2, query: 0, scale: 1 }), /k has 4 values, expected T·d = 6/);
  assert.throws(() => attentionRowCpu({ q, k: q, tokens: 0, headDim: 2, query: 0, scale: 1 }), /tokens must be a positive integer/);
});
