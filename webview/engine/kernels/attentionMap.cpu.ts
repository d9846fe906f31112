/**
 * CPU twin of attentionMap.wgsl.ts: one head's T×T map reduced to P×P cells (P = min(T, maxCells)) by signed
 * max-|a| pooling: each cell holds the entry of largest magnitude in its block, with its sign (the first such entry
 * in row-major order on ties). a = exp(x1 − lse1) for softmax heads, exp(x1 − lse1) − λ·exp(x2 − lse2) for DIFF.
 * Cell r covers rows [⌊r·T/P⌋, ⌊(r+1)·T/P⌋), columns likewise; entries above the diagonal are 0.
 */
import { lambdaRows, logitRow } from '../../../src/core/attention';
import { validateQK, type QKInput, type QKShape } from './rowLse.cpu';

export interface MapParams {
  lse: Float32Array; // [qkHeads, T]
  /** Sub-head of A (softmax) or A1 (DIFF). */
  s1: number;
  /** Sub-head of A2 (DIFF), or -1. */
  s2: number;
  /** λ of DIFF V1 (one value), or λ per query row [T] (DIFF V2). */
  lambda: number | Float32Array;
  maxCells: number;
}
export type MapInput = QKInput & MapParams;
export type MapShape = QKShape & MapParams;

export function validateMap(x: MapShape): { T: number; H: number; P: number } {
  const { T, H } = validateQK(x);
  if (x.lse.length !== H * T) throw new Error(`lse has ${x.lse.length} values, expected ${H * T}`);
  for (const s of [x.s1, x.s2]) if (s !== -1 && (s < 0 || s >= H)) throw new Error(`sub-head ${s} is outside 0..${H - 1}`);
  if (x.s1 < 0) throw new Error('s1 must name a sub-head');
  if (!Number.isInteger(x.maxCells) || x.maxCells < 1) throw new Error('maxCells must be a positive integer');
  lambdaRows(x.lambda, T);
  return { T, H, P: Math.min(T, x.maxCells) };
}

/**
 * Signed max-|a| pooling of a causal T×T map into output rows [r0, r1) of P×P cells, from the map's rows: `row(i)`
 * gives a_i,j for j ≤ i. Shared by this twin and by analyses that hold full maps (probsAnalysis.ts).
 * `queryRows` [i0, i1) limits the work to those rows of the map, so a cell row can be filled over several calls (in
 * order): a cell row is cleared when its first map row is taken, and only then.
 */
export function poolMapRows(T: number, P: number, [r0, r1]: [number, number], row: (i: number) => ArrayLike<number>, out: Float32Array, queryRows?: [number, number]): void {
  const [q0, q1] = queryRows ?? [0, T];
  for (let r = r0; r < r1; r++) {
    const first = Math.floor((r * T) / P);
    const lo = Math.max(first, q0);
    const hi = Math.min(Math.floor(((r + 1) * T) / P), q1);
    if (!queryRows || (lo === first && lo < hi)) out.fill(0, r * P, (r + 1) * P);
    for (let i = lo; i < hi; i++) {
      const a = row(i);
      for (let c = 0; c < P; c++) {
        const j1 = Math.min(Math.floor(((c + 1) * T) / P), i + 1);
        let best = out[r * P + c];
        for (let j = Math.floor((c * T) / P); j < j1; j++) if (Math.abs(a[j]) > Math.abs(best)) best = a[j];
        out[r * P + c] = best;
      }
    }
  }
}

/**
 * `cellRows` limits the work to output rows [r0, r1) of `out` (the rest is left as it is), and `queryRows` to those
 * rows of the map (see poolMapRows), so callers can split it.
 */
export function attentionMapCpu(x: MapInput, cellRows?: [number, number], out?: Float32Array, queryRows?: [number, number]): Float32Array {
  const { T, P } = validateMap(x);
  out ??= new Float32Array(P * P);
  const lam = lambdaRows(x.lambda, T);
  const x1 = new Float64Array(T);
  const x2 = new Float64Array(T);
  const a = new Float64Array(T);
  poolMapRows(T, P, cellRows ?? [0, P], (i) => {
    logitRow(x.q, x.k, x.s1, i, x.scale, x1);
    if (x.s2 >= 0) logitRow(x.q, x.k, x.s2, i, x.scale, x2);
    for (let j = 0; j <= i; j++) {
      a[j] = Math.exp(x1[j] - x.lse[x.s1 * T + i]);
      if (x.s2 >= 0) a[j] -= lam[i] * Math.exp(x2[j] - x.lse[x.s2 * T + i]);
    }
    return a;
  }, out, queryRows);
  return out;
}
