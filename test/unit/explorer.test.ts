// The explorer's pure parts: how weights become pixels and legend numbers, and how a query's rows become DIFF's
// decomposition strips (A1, λ·A2, A1 − λ·A2 and the what-if views), checked against values worked out by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LEVELS, levelOf } from '../../src/core/colorScale';
import type { AnalysisInfo, RowsPayload } from '../../src/core/protocol';
import { levelEdges, parseCanvasColour, rasterize } from '../../webview/explorer/raster';
import { counts } from '../../webview/explorer/strips';
import { decompose } from '../../webview/explorer/explorerView';
import { cellOf, cellRange } from '../../webview/explorer/mapView';

const colours = {
  positive: Uint8ClampedArray.from({ length: LEVELS * 4 }, (_, i) => (i % 4 === 0 ? 200 : i % 4 === 3 ? 10 + Math.floor(i / 4) : 0)),
  negative: Uint8ClampedArray.from({ length: LEVELS * 4 }, (_, i) => (i % 4 === 2 ? 200 : i % 4 === 3 ? 100 + Math.floor(i / 4) : 0)),
};

test('rasterize: row = query, column = key; the upper triangle and untinted cells stay transparent; levels as the editor tints', () => {
  const P = 3;
  // rows: [1], [−0.25, 0.5], [0, 1e-6, −1]
  const data = Float32Array.from([1, 9, 9, -0.25, 0.5, 9, 0, 1e-6, -1]);
  const out = new Uint8ClampedArray(P * P * 4);
  rasterize(data, P, 1, colours, out);
  const px = (r: number, c: number) => [...out.slice((r * P + c) * 4, (r * P + c) * 4 + 4)];
  assert.deepEqual(px(0, 1), [0, 0, 0, 0], 'masked above the diagonal, whatever the data says');
  assert.deepEqual(px(0, 2), [0, 0, 0, 0]);
  assert.deepEqual(px(0, 0), [200, 0, 0, 10 + LEVELS - 1], 'weight 1 of max 1: the strongest warm level');
  // −0.25 of 1: sqrt(0.25) · 7 = 3.5 → level −4.
  assert.equal(levelOf(-0.25, 1), -4);
  assert.deepEqual(px(1, 0), [0, 0, 200, 100 + 3]);
  assert.deepEqual(px(2, 0), [0, 0, 0, 0], 'an exact zero is untinted');
  assert.deepEqual(px(2, 1), [0, 0, 0, 0], 'below 1/400 of the largest |w| is untinted');
  assert.deepEqual(px(2, 2), [0, 0, 200, 100 + LEVELS - 1]);
});

test('legend edges: level l holds the weights up to max · (l/LEVELS)², the next level those just above, for any maximum', () => {
  // 1.7630339967533577 is a maximum where ceil(sqrt(edge/max) · 7) rounds up on the edge itself: the legend colours
  // its swatches by level, never by colourOf(edge).
  for (const max of [0.49, 1, 1.7630339967533577, 3e-5, 812.5]) {
    const e = levelEdges(max);
    assert.equal(e.length, LEVELS + 1);
    assert.equal(e[0], 0);
    assert.ok(Math.abs(e[LEVELS] - max) < 1e-12 * max);
    for (let l = 1; l <= LEVELS; l++) {
      assert.equal(levelOf(e[l] * (1 - 1e-9), max), l, `max ${max}: just under the edge of level ${l}`);
      if (l < LEVELS) assert.equal(levelOf(e[l] * (1 + 1e-6), max), l + 1, `max ${max}: just above it is level ${l + 1}`);
    }
  }
});

test('pooled maps: the cell that holds a token (the focus row) is the inverse of the cells’ token ranges', () => {
  for (const T of [1, 2, 5, 2048, 2049, 3000, 4097, 8192]) {
    const P = Math.min(T, 2048);
    for (let t = 0; t < T; t++) {
      const c = cellOf(t, P, T);
      const [a, b] = cellRange(c, P, T);
      assert.ok(c >= 0 && c < P && a <= t && t < b, `T ${T}, token ${t}: cell ${c} holds ${a}..${b - 1}`);
    }
  }
});

test('canvas colours: hex with and without alpha, rgb() and rgba() as a canvas normalises them', () => {
  assert.deepEqual(parseCanvasColour('#ff8c00'), [255, 140, 0, 255]);
  assert.deepEqual(parseCanvasColour('#ff8c0080'), [255, 140, 0, 128]);
  assert.deepEqual(parseCanvasColour('rgba(55, 148, 255, 0.5)'), [55, 148, 255, 128]);
  assert.deepEqual(parseCanvasColour('rgb(1, 2, 3)'), [1, 2, 3, 255]);
  assert.deepEqual(parseCanvasColour('hotpink'), [0, 0, 0, 0], 'anything else is transparent, not a guess');
});

const diffInfo: AnalysisInfo = { model: 'twin-diff', backend: 'wasm', tokens: 3, layers: 2, heads: 2, lambdas: [0.5, 0.25], runMs: 1, attention: 'diff-v1', valueWeighted: false, readFrom: 'qk', tokenLimit: 8192 };

/** Rows for query 2 of a 2-layer, 2-head DIFF model with A = A1 − λ·A2 exactly. */
function diffRows(lambdaPerHead?: Float32Array): RowsPayload {
  const T = 3;
  const a1 = new Float32Array(2 * 2 * T);
  const a2 = new Float32Array(2 * 2 * T);
  const a = new Float32Array(2 * 2 * T);
  for (let l = 0; l < 2; l++)
    for (let h = 0; h < 2; h++) {
      const o = (l * 2 + h) * T;
      a1.set([0.5 + h * 0.1, 0.3, 0.2 - h * 0.1], o);
      a2.set([0.1, 0.2 + h * 0.2, 0.7 - h * 0.2], o);
      const lam = lambdaPerHead ? lambdaPerHead[l * 2 + h] : diffInfo.lambdas[l];
      for (let k = 0; k < T; k++) a[o + k] = a1[o + k] - lam * a2[o + k];
    }
  return { query: 2, layers: 2, heads: 2, tokens: T, a, a1, a2, ...(lambdaPerHead ? { lambda: lambdaPerHead } : {}) };
}

test('decompose, DIFF V1: A1, λ·A2 (λ of the layer) and A1 − λ·A2 for one head, and their mean over heads', () => {
  const r = diffRows();
  const one = decompose(diffInfo, r, 1, 0, null);
  assert.equal(one.lambda, 0.25);
  assert.deepEqual(one.strips.map((s) => s.id), ['a1', 'la2', 'a']);
  const [a1, la2, a] = one.strips.map((s) => [...s.values].map((v) => +v.toFixed(6)));
  assert.deepEqual(a1, [0.5, 0.3, 0.2]);
  assert.deepEqual(la2, [0.025, 0.05, 0.175]);
  assert.deepEqual(a, [0.475, 0.25, 0.025]);
  const mean = decompose(diffInfo, r, 0, 'mean', null);
  // Layer 0, λ 0.5: heads' A1 [0.5,0.3,0.2] and [0.6,0.3,0.1]; A2 [0.1,0.2,0.7] and [0.1,0.4,0.5].
  assert.deepEqual([...mean.strips[0].values].map((v) => +v.toFixed(6)), [0.55, 0.3, 0.15]);
  assert.deepEqual([...mean.strips[1].values].map((v) => +v.toFixed(6)), [0.05, 0.15, 0.3]);
  assert.deepEqual([...mean.strips[2].values].map((v) => +v.toFixed(6)), [0.5, 0.15, -0.15]);
});

test('decompose, DIFF V2: λ is each head’s at the query; softmax models have one strip, A', () => {
  const lam = Float32Array.from([0.1, 0.9, 0.3, 0.7]);
  const v2 = decompose({ ...diffInfo, attention: 'diff-v2' }, diffRows(lam), 0, 1, null);
  assert.ok(Math.abs(v2.lambda! - 0.9) < 1e-7);
  assert.deepEqual([...v2.strips[1].values].map((v) => +v.toFixed(6)), [0.09, 0.36, 0.45]);
  // The mean over heads of λ_h · A2_h (not the mean λ times the mean A2): layer 0, λ 0.1 and 0.9.
  const mean = decompose({ ...diffInfo, attention: 'diff-v2' }, diffRows(lam), 0, 'mean', null);
  assert.deepEqual([...mean.strips[1].values].map((v) => +v.toFixed(6)), [(0.1 * 0.1 + 0.9 * 0.1) / 2, (0.1 * 0.2 + 0.9 * 0.4) / 2, (0.1 * 0.7 + 0.9 * 0.5) / 2].map((v) => +v.toFixed(6)));
  assert.ok(Math.abs(mean.lambda! - 0.5) < 1e-7, 'the λ shown for a mean is the mean λ');
  const soft = decompose({ ...diffInfo, attention: 'softmax', lambdas: [] }, { query: 2, layers: 2, heads: 2, tokens: 3, a: Float32Array.from({ length: 12 }, (_, i) => i / 10) }, 1, 1, null);
  assert.equal(soft.lambda, undefined);
  assert.deepEqual(soft.strips.map((s) => s.id), ['a']);
  assert.deepEqual([...soft.strips[0].values].map((v) => +v.toFixed(6)), [0.9, 1, 1.1]);
});

test('decompose: the what-if views follow, labelled as views (the first of them, A1 − λ·A2 itself, is not repeated)', () => {
  const T = 3;
  const whatIf = { kind: 'whatIf' as const, dims: [8, T], data: Float32Array.from({ length: 8 * T }, (_, i) => i) };
  const { strips } = decompose(diffInfo, diffRows(), 0, 0, whatIf);
  const views = strips.filter((s) => s.view);
  assert.equal(views.length, 7);
  assert.ok(views.every((s) => s.name.startsWith('what-if: ') && /not what the model used/.test(s.title)));
  assert.deepEqual(views.map((s) => s.id).slice(0, 4), ['whatif-rectified', 'whatif-heaviside', 'whatif-softpick', 'whatif-shift']);
  assert.deepEqual([...views[0].values], [3, 4, 5]);
});

test('strip counts: negatives and exact zeros among the keys the query sees', () => {
  assert.deepEqual(counts(Float32Array.from([0, -0.1, 0.2, -0.3, 0]), 3), { negative: 2, zeros: 1 });
  assert.deepEqual(counts(Float32Array.from([0.5]), 0), { negative: 0, zeros: 0 });
});
