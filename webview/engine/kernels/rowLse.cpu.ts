/**
 * CPU twin of rowLse.wgsl.ts: the log-sum-exp of every causal row of every Q/K (sub-)head, so that any entry can
 * later be recomputed alone as exp(logit − lse) (columns, pooled maps, statistics).
 *   returns lse [qkHeads, T]
 */
import { logitAt, type Strided, type Tensor } from '../../../src/core/attention';

export interface QKInput {
  q: Tensor;
  k: Tensor;
  scale: number;
}
export interface QKShape {
  q: Strided;
  k: Strided;
  scale: number;
}

export function validateQK(x: QKShape): { T: number; H: number } {
  const T = x.k.dim('token');
  const H = x.k.dim('qkHead');
  if (x.q.dim('token') !== T || x.q.dim('qkHead') !== H || x.q.dim('dim') !== x.k.dim('dim')) throw new Error('q and k shapes differ');
  return { T, H };
}

export function rowLseCpu(x: QKInput): Float32Array {
  const { T, H } = validateQK(x);
  const out = new Float32Array(H * T);
  const row = new Float64Array(T);
  for (let s = 0; s < H; s++) {
    for (let i = 0; i < T; i++) {
      let m = -Infinity;
      for (let j = 0; j <= i; j++) {
        row[j] = logitAt(x.q, x.k, s, i, j, x.scale);
        if (row[j] > m) m = row[j];
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) sum += Math.exp(row[j] - m);
      out[s * T + i] = m + Math.log(sum);
    }
  }
  return out;
}
