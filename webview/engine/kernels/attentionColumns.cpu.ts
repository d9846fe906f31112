/**
 * CPU twin of attentionColumns.wgsl.ts: for one key token, the weight every query gives it, in every sub-head:
 *   returns cols [qkHeads, T]: cols[s·T + i] = exp(logit(s, i, key) − lse[s, i]) for i ≥ key, exactly 0 for i < key.
 * `lse` comes from rowLse (cached per analysis), so a column costs O(T·d) per sub-head instead of O(T²·d).
 */
import { logitAt } from '../../../src/core/attention';
import { validateQK, type QKInput, type QKShape } from './rowLse.cpu';

export interface ColumnsInput extends QKInput {
  lse: Float32Array; // [qkHeads, T]
  key: number;
}
export type ColumnsShape = QKShape & { lse: Float32Array; key: number };

export function validateColumns(x: ColumnsShape): { T: number; H: number } {
  const { T, H } = validateQK(x);
  if (x.lse.length !== H * T) throw new Error(`lse has ${x.lse.length} values, expected ${H * T}`);
  if (!Number.isInteger(x.key) || x.key < 0 || x.key >= T) throw new Error(`key ${x.key} is outside 0..${T - 1}`);
  return { T, H };
}

export function attentionColumnsCpu(x: ColumnsInput): Float32Array {
  const { T, H } = validateColumns(x);
  const out = new Float32Array(H * T);
  for (let s = 0; s < H; s++) {
    for (let i = x.key; i < T; i++) out[s * T + i] = Math.exp(logitAt(x.q, x.k, s, i, x.key, x.scale) - x.lse[s * T + i]);
  }
  return out;
}
