/**
 * CPU twin of whatIf.wgsl.ts: the "what-if" attention functions of DESIGN.md §2 for one query row of one head,
 * computed from the same logits x1 (A1's, or A's for a softmax head) and x2 (A2's). They are views for comparison,
 * not what the model computed. For a softmax head A2 = 0 and λ = 0, so the first three views equal A.
 *   returns views [WHAT_IF_VIEWS.length, T]; entries j > query are 0 in every view.
 */
import { logitAt } from '../../../src/core/attention';
import type { StatsInput, StatsShape } from './headStats.cpu';
import { validateStats } from './headStats.cpu';

export const WHAT_IF_VIEWS = [
  { id: 'diff', label: 'A1 − λ·A2 (what the model computed, DIFF)' },
  { id: 'rectified', label: 'max(0, A1 − λ·A2) — what-if view' },
  { id: 'heaviside', label: 'A1 ⊙ H(A1 − λ·A2) — what-if view' },
  { id: 'softpick', label: 'softpick relu(eˣ − 1)/Σ|eˣ − 1| — what-if view' },
  { id: 'shift', label: '2·(A1 − ½), a fixed shift — what-if view' },
  { id: 'softmaxPlusOne', label: 'eˣ/(1 + Σeˣ) — what-if view' },
  { id: 'sigmoid', label: 'σ(x − log n) — what-if view' },
  { id: 'cog', label: 'sign(x)·softmax(|x|) — what-if view' },
] as const;

/** λ is the query row's (one number: DIFF V2's per-token λ is read at the query by the caller). */
export type WhatIfInput = Omit<StatsInput, 'lambda'> & { lambda: number; query: number };
export type WhatIfShape = Omit<StatsShape, 'lambda'> & { lambda: number; query: number };

export function validateWhatIf(x: WhatIfShape): { T: number } {
  const { T } = validateStats(x);
  if (!Number.isInteger(x.query) || x.query < 0 || x.query >= T) throw new Error(`query ${x.query} is outside 0..${T - 1}`);
  return { T };
}

export function whatIfCpu(x: WhatIfInput): Float32Array {
  const { T } = validateWhatIf(x);
  const i = x.query;
  const n = i + 1;
  const V = WHAT_IF_VIEWS.length;
  const out = new Float32Array(V * T);
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  let m1 = -Infinity, m2 = -Infinity, ma = -Infinity;
  for (let j = 0; j < n; j++) {
    x1[j] = logitAt(x.q, x.k, x.s1, i, j, x.scale);
    x2[j] = x.s2 >= 0 ? logitAt(x.q, x.k, x.s2, i, j, x.scale) : 0;
    m1 = Math.max(m1, x1[j]);
    m2 = Math.max(m2, x2[j]);
    ma = Math.max(ma, Math.abs(x1[j]));
  }
  let s1 = 0, s2 = 0, dp = 0, c = 0;
  for (let j = 0; j < n; j++) {
    s1 += Math.exp(x1[j] - m1);
    s2 += Math.exp(x2[j] - m2);
    dp += Math.abs(Math.exp(x1[j] - m1) - Math.exp(-m1));
    c += Math.exp(Math.abs(x1[j]) - ma);
  }
  for (let j = 0; j < n; j++) {
    const a1 = Math.exp(x1[j] - m1) / s1;
    const a2 = x.s2 >= 0 ? Math.exp(x2[j] - m2) / s2 : 0;
    const d = a1 - x.lambda * a2;
    const e = Math.exp(x1[j] - m1);
    out[0 * T + j] = d;
    out[1 * T + j] = Math.max(0, d);
    out[2 * T + j] = d > 0 ? a1 : 0;
    out[3 * T + j] = dp > 0 ? Math.max(0, e - Math.exp(-m1)) / dp : 0;
    out[4 * T + j] = 2 * (a1 - 0.5);
    out[5 * T + j] = e / (Math.exp(-m1) + s1);
    out[6 * T + j] = 1 / (1 + Math.exp(-(x1[j] - Math.log(n))));
    out[7 * T + j] = Math.sign(x1[j]) * (Math.exp(Math.abs(x1[j]) - ma) / c);
  }
  return out;
}

/** Share of exact zeros and of negative weights per view, over the causal entries j ≤ query. */
export function viewShares(views: Float32Array, T: number, query: number): { zeros: number; negatives: number }[] {
  return WHAT_IF_VIEWS.map((_, v) => {
    let zeros = 0, negatives = 0;
    for (let j = 0; j <= query; j++) {
      const a = views[v * T + j];
      if (a === 0) zeros++;
      else if (a < 0) negatives++;
    }
    return { zeros: zeros / (query + 1), negatives: negatives / (query + 1) };
  });
}
