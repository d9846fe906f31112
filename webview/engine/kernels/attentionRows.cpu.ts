/**
 * CPU twin of attentionRows.wgsl.ts: for one query token, the causal softmax row of every Q/K (sub-)head of one
 * layer, reading q and k through their strides (so any axis order the manifest declares works).
 *   returns rows [qkHeads, T]: rows[s·T + j] = softmax_j(scale · q[s, query]·k[s, j]) for j ≤ query, exactly 0 after.
 */
import { Strided, Tensor, softmaxRow } from '../../../src/core/attention';

export interface AttentionRowsInput {
  q: Tensor; // axes qkHead, token, dim (batch of 1)
  k: Tensor;
  query: number;
  scale: number;
}

/** The GPU version needs only the shapes: its q and k may live in GPU buffers. */
export interface AttentionRowsShape {
  q: Strided;
  k: Strided;
  query: number;
  scale: number;
}

export function validateAttentionRowsInput(x: AttentionRowsShape): void {
  const T = x.k.dim('token');
  if (x.q.dim('token') !== T) throw new Error(`attentionRows: q has ${x.q.dim('token')} tokens, k has ${T}`);
  if (x.q.dim('qkHead') !== x.k.dim('qkHead') || x.q.dim('dim') !== x.k.dim('dim')) throw new Error('attentionRows: q and k shapes differ');
  if (!Number.isInteger(x.query) || x.query < 0 || x.query >= T) throw new Error(`attentionRows: query ${x.query} is outside 0..${T - 1}`);
}

export function attentionRowsCpu(x: AttentionRowsInput): Float32Array {
  validateAttentionRowsInput(x);
  const T = x.k.dim('token');
  const H = x.k.dim('qkHead');
  const out = new Float32Array(H * T);
  for (let s = 0; s < H; s++) out.set(softmaxRow(x.q, x.k, s, x.query, x.scale), s * T);
  return out;
}
