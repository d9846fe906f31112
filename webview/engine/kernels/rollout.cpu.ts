/**
 * CPU twin of rollout.wgsl.ts: one step of attention rollout (Abnar & Zuidema 2020) for one query row, and the
 * value-weighted row. Rollout here is a view, labelled as such: signed attention has no flow interpretation, so it
 * uses |A| or the positive part, averaged over the layer's heads, rows renormalised, plus the residual: 
 *   Â[t, j] = ½·Ā[t, j] / Σ_j' Ā[t, j'] + ½·δ_tj,   r'_j = Σ_{t ≤ query} r_t·Â[t, j]
 * Going from the last layer down to the first, starting from r = e_query, gives the rollout row.
 */
import { lambdaRows, logitAt } from '../../../src/core/attention';
import { validateQK, type QKInput, type QKShape } from './rowLse.cpu';

export interface RolloutParams {
  lse: Float32Array; // [qkHeads, T]
  /** Per head: [s1, s2] sub-heads (s2 = -1 for softmax heads). */
  pairs: [number, number][];
  /** λ of DIFF V1 (one value), or per head and query row [heads·T] (DIFF V2). */
  lambda: number | Float32Array;
  mode: 'abs' | 'positive';
  query: number;
  /** The incoming row r [T] (e_query for the last layer). */
  r: Float32Array;
}
export type RolloutInput = QKInput & RolloutParams;
export type RolloutShape = QKShape & RolloutParams;

export function validateRollout(x: RolloutShape): { T: number } {
  const { T, H } = validateQK(x);
  if (x.lse.length !== H * T) throw new Error(`lse has ${x.lse.length} values, expected ${H * T}`);
  if (x.r.length !== T) throw new Error(`r has ${x.r.length} values, expected ${T}`);
  if (!Number.isInteger(x.query) || x.query < 0 || x.query >= T) throw new Error(`query ${x.query} is outside 0..${T - 1}`);
  if (x.pairs.length === 0) throw new Error('rollout needs at least one head');
  lambdaRows(x.lambda, x.pairs.length * T);
  return { T };
}

function meanWeight(x: RolloutInput, lam: Float32Array, T: number, t: number, j: number): number {
  let acc = 0;
  for (const [h, [s1, s2]] of x.pairs.entries()) {
    let a = Math.exp(logitAt(x.q, x.k, s1, t, j, x.scale) - x.lse[s1 * T + t]);
    if (s2 >= 0) a -= lam[h * T + t] * Math.exp(logitAt(x.q, x.k, s2, t, j, x.scale) - x.lse[s2 * T + t]);
    acc += x.mode === 'abs' ? Math.abs(a) : Math.max(0, a);
  }
  return acc / x.pairs.length;
}

/**
 * One rollout step from the layer's mean-over-heads rows: `mean(t)` gives Ā[t, j] for j ≤ t (|A| or the positive
 * part already taken). Shared by this twin and by analyses that hold full maps (probsAnalysis.ts).
 */
export function rolloutStepFromMeans(T: number, query: number, r: Float32Array, mean: (t: number) => ArrayLike<number>): Float32Array {
  const out = new Float32Array(T);
  for (let t = 0; t <= query; t++) {
    if (r[t] === 0) continue;
    const m = mean(t);
    let z = 0;
    for (let j = 0; j <= t; j++) z += m[j];
    for (let j = 0; j <= t; j++) out[j] += r[t] * (z > 0 ? (0.5 * m[j]) / z : 0);
    out[t] += 0.5 * r[t];
  }
  return out;
}

export function rolloutStepCpu(x: RolloutInput): Float32Array {
  const { T } = validateRollout(x);
  const lam = lambdaRows(x.lambda, x.pairs.length * T);
  const m = new Float64Array(T);
  return rolloutStepFromMeans(T, x.query, x.r, (t) => {
    for (let j = 0; j <= t; j++) m[j] = meanWeight(x, lam, T, t, j);
    return m;
  });
}

/** Value-weighted row: |a_j|·‖value_j‖ (·row scale for DIFF, which makes it exactly additive per row). */
export function valueWeightedCpu(row: Float32Array, valueNorm: Float32Array, rowScale = 1): Float32Array {
  if (row.length !== valueNorm.length) throw new Error(`row has ${row.length} values, value norms ${valueNorm.length}`);
  return row.map((a, j) => Math.abs(a) * valueNorm[j] * rowScale);
}
