/**
 * Surprisal −log p(token_i | tokens before i) in nats from the model's logits [T, V]: position i − 1 predicts
 * token i. The first token has no prediction and gets NaN.
 */
export function surprisalFromLogits(logits: Float32Array, ids: ArrayLike<number>, vocab: number): Float32Array {
  const T = ids.length;
  if (logits.length !== T * vocab) throw new Error(`logits hold ${logits.length} values, tokens × vocabulary = ${T * vocab}`);
  const out = new Float32Array(T);
  out[0] = NaN;
  for (let i = 1; i < T; i++) out[i] = rowSurprisal(logits, (i - 1) * vocab, vocab, ids[i]);
  return out;
}

/** −log softmax(row)[id] for the row of `vocab` logits starting at `offset`: the surprisal of `id` after that row. */
export function rowSurprisal(logits: Float32Array, offset: number, vocab: number, id: number): number {
  let m = -Infinity;
  for (let v = 0; v < vocab; v++) m = Math.max(m, logits[offset + v]);
  let s = 0;
  for (let v = 0; v < vocab; v++) s += Math.exp(logits[offset + v] - m);
  return m + Math.log(s) - logits[offset + id];
}
