/**
 * CPU twin of headStats.wgsl.ts: statistics of one head over all its rows (DESIGN.md §2).
 * Per row i (both twins compute these the same way; `reduceHeadStats` averages them):
 *   0 entropy of A1 (of A for softmax), 1 entropy of A2 (0 for softmax), 2 negative mass Σ max(0, −a),
 *   3 count of |a| < 1e-3 over j ≤ i, 4 first-token weight a_i0, 5 row sum Σ a_ij.
 * a = A for softmax heads, A1 − λ·A2 for DIFF heads.
 */
import { lambdaRows, logitAt } from '../../../src/core/attention';
import type { MapInput, MapShape } from './attentionMap.cpu';
import { validateMap } from './attentionMap.cpu';

import { ROW_STATS, SMALL } from '../../../src/core/statsFiles';

export { ROW_STATS, SMALL };

export type StatsInput = Omit<MapInput, 'maxCells'>;
export type StatsShape = Omit<MapShape, 'maxCells'>;

export interface HeadStats {
  entropyA1: number;
  /** NaN for softmax heads. */
  entropyA2: number;
  negativeMass: number;
  smallShare: number;
  firstTokenMass: number;
  /** max over rows of |Σ_j a_ij − (1 − λ)| (λ = 0 for softmax): a check that the maths holds. */
  maxRowSumError: number;
}

export function validateStats(x: StatsShape): { T: number; H: number } {
  const { T, H } = validateMap({ ...x, maxCells: 1 });
  return { T, H };
}

export function rowStatsCpu(x: StatsInput): Float32Array {
  const { T } = validateStats(x);
  const out = new Float32Array(T * ROW_STATS);
  const lam = lambdaRows(x.lambda, T);
  for (let i = 0; i < T; i++) {
    let e1 = 0, e2 = 0, neg = 0, small = 0, sum = 0, first = 0;
    for (let j = 0; j <= i; j++) {
      const p1 = Math.exp(logitAt(x.q, x.k, x.s1, i, j, x.scale) - x.lse[x.s1 * T + i]);
      let a = p1;
      if (p1 > 0) e1 -= p1 * Math.log(p1);
      if (x.s2 >= 0) {
        const p2 = Math.exp(logitAt(x.q, x.k, x.s2, i, j, x.scale) - x.lse[x.s2 * T + i]);
        if (p2 > 0) e2 -= p2 * Math.log(p2);
        a = p1 - lam[i] * p2;
      }
      if (a < 0) neg -= a;
      if (Math.abs(a) < SMALL) small++;
      if (j === 0) first = a;
      sum += a;
    }
    out.set([e1, e2, neg, small, first, sum], i * ROW_STATS);
  }
  return out;
}

/**
 * The ROW_STATS figures of row i from its probabilities: p1 = A1's (A's for softmax), p2 = A2's or undefined, λ of
 * the row. For callers that hold the probabilities (the fused CPU pass, analyses read from softmax outputs).
 */
export function rowFigures(p1: ArrayLike<number>, p2: ArrayLike<number> | undefined, lambda: number, i: number): number[] {
  let e1 = 0, e2 = 0, neg = 0, small = 0, total = 0;
  for (let j = 0; j <= i; j++) {
    const a1 = p1[j];
    if (a1 > 0) e1 -= a1 * Math.log(a1);
    let a = a1;
    if (p2) {
      const a2 = p2[j];
      if (a2 > 0) e2 -= a2 * Math.log(a2);
      a = a1 - lambda * a2;
    }
    if (a < 0) neg -= a;
    if (Math.abs(a) < SMALL) small++;
    total += a;
  }
  return [e1, e2, neg, small, p2 ? p1[0] - lambda * p2[0] : p1[0], total];
}

/** Averages per-row statistics into a head's figures (shared by both twins). */
/** `lambda`: λ per query row [T] (ignored for softmax heads). */
export function reduceHeadStats(rows: Float32Array, T: number, diff: boolean, lambda: Float32Array): HeadStats {
  let e1 = 0, e2 = 0, neg = 0, small = 0, first = 0, err = 0;
  for (let i = 0; i < T; i++) {
    const o = i * ROW_STATS;
    e1 += rows[o];
    e2 += rows[o + 1];
    neg += rows[o + 2];
    small += rows[o + 3];
    first += rows[o + 4];
    err = Math.max(err, Math.abs(rows[o + 5] - (diff ? 1 - lambda[i] : 1)));
  }
  return {
    entropyA1: e1 / T,
    entropyA2: diff ? e2 / T : NaN,
    negativeMass: neg / T,
    smallShare: small / ((T * (T + 1)) / 2),
    firstTokenMass: first / T,
    maxRowSumError: err,
  };
}

export function headStatsCpu(x: StatsInput): HeadStats {
  const { T } = validateStats(x);
  return reduceHeadStats(rowStatsCpu(x), T, x.s2 >= 0, lambdaRows(x.lambda, T));
}
