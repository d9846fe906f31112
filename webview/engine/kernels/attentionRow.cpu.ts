/**
 * CPU twin of attentionRow.wgsl.ts: one query row of causal softmax attention for one head.
 *   q [T, d], k [T, d] (row-major), query index i → row [T]: softmax(scale · q_i·k_j) for j ≤ i, exactly 0 for j > i.
 * Same max-subtraction as the kernel, float32 accumulation order aside.
 */
export interface AttentionRowInput {
  q: Float32Array; // [T, d]
  k: Float32Array; // [T, d]
  tokens: number;
  headDim: number;
  query: number;
  scale: number;
}

export function validateAttentionRowInput(x: AttentionRowInput): void {
  const { tokens: T, headDim: d } = x;
  if (!Number.isInteger(T) || T < 1) throw new Error(`attentionRow: tokens must be a positive integer, got ${T}`);
  if (!Number.isInteger(d) || d < 1) throw new Error(`attentionRow: headDim must be a positive integer, got ${d}`);
  if (x.q.length !== T * d) throw new Error(`attentionRow: q has ${x.q.length} values, expected T·d = ${T * d}`);
  if (x.k.length !== T * d) throw new Error(`attentionRow: k has ${x.k.length} values, expected T·d = ${T * d}`);
  if (!Number.isInteger(x.query) || x.query < 0 || x.query >= T) {
    throw new Error(`attentionRow: query ${x.query} is outside 0..${T - 1}`);
  }
}

export function attentionRowCpu(x: AttentionRowInput): Float32Array {
  validateAttentionRowInput(x);
  const { q, k, tokens: T, headDim: d, query: i, scale } = x;
  const out = new Float32Array(T);
  let max = -Infinity;
  for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let p = 0; p < d; p++) s += q[i * d + p] * k[j * d + p];
    out[j] = s * scale;
    if (out[j] > max) max = out[j];
  }
  let sum = 0;
  for (let j = 0; j <= i; j++) {
    out[j] = Math.exp(out[j] - max);
    sum += out[j];
  }
  for (let j = 0; j <= i; j++) out[j] /= sum;
  return out;
}
