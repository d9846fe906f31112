/**
 * CPU twin of attentionMap.wgsl.ts: one head's T×T map reduced to P×P cells (P = min(T, maxCells)) by signed
 * max-|a| pooling: each cell holds the entry of largest magnitude in its block, with its sign (the first such entry
 * in row-major order on ties). a = exp(x1 − lse1) for softmax heads, exp(x1 − lse1) − λ·exp(x2 − lse2) for DIFF.
 * Cell r covers rows [⌊r·T/P⌋, ⌊(r+1)·T/P⌋), columns likewise; entries above the diagonal are 0.
 */
import { lambdaRows, logitAt } from '../../../src/core/attention';
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

/** `cellRows` limits the work to output rows [r0, r1) of `out` (the rest is left as it is), so callers can split it. */
export function attentionMapCpu(x: MapInput, cellRows?: [number, number], out?: Float32Array): Float32Array {
  const { T, P } = validateMap(x);
  out ??= new Float32Array(P * P);
  const [r0, r1] = cellRows ?? [0, P];
  const lam = lambdaRows(x.lambda, T);
  for (let r = r0; r < r1; r++) {
    const i0 = Math.floor((r * T) / P);
    const i1 = Math.floor(((r + 1) * T) / P);
    for (let c = 0; c < P; c++) {
      const j0 = Math.floor((c * T) / P);
      const j1 = Math.floor(((c + 1) * T) / P);
      let best = 0;
      for (let i = i0; i < i1; i++) {
        for (let j = j0; j < Math.min(j1, i + 1); j++) {
          let a = Math.exp(logitAt(x.q, x.k, x.s1, i, j, x.scale) - x.lse[x.s1 * T + i]);
          if (x.s2 >= 0) a -= lam[i] * Math.exp(logitAt(x.q, x.k, x.s2, i, j, x.scale) - x.lse[x.s2 * T + i]);
          if (Math.abs(a) > Math.abs(best)) best = a;
        }
      }
      out[r * P + c] = best;
    }
  }
  return out;
}
