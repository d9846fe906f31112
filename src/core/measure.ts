/**
 * "Measure Attention To Selection": the paper's Figure 1 on the user's own text. For one query token, the attention
 * mass on a span of key tokens, on the first token (the usual sink) and on the rest of the context, averaged over all
 * heads and layers. Each row is divided by its own sum first — 1 for softmax, 1 − λ for DIFF's A1 − λ·A2 — so both
 * twins' three masses add up to 1 and can be compared; for DIFF they are signed.
 */
import type { RowsPayload } from './protocol';

export interface SpanMass {
  selection: number;
  firstToken: number;
  rest: number;
  /** Number of (layer, head) rows averaged. */
  rows: number;
}

/** `span` is [first, last) in token indices; token 0 counts as the first token, never as part of the span. */
export function measureSpanMass(r: RowsPayload, query: number, span: [number, number]): SpanMass {
  const [a, b] = span;
  if (!(Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a < b && b <= r.tokens)) throw new Error(`span ${a}..${b} is not a token range of 0..${r.tokens}`);
  if (query !== r.query) throw new Error(`the rows are for query ${r.query}, not ${query}`);
  if (a > query) throw new Error('the selection lies after the query token: causal attention cannot look forward. Put the cursor after the selection, or select earlier text.');
  let sel = 0;
  let first = 0;
  let rest = 0;
  const n = r.layers * r.heads;
  for (let k = 0; k < n; k++) {
    const row = r.a.subarray(k * r.tokens, (k + 1) * r.tokens);
    let total = 0;
    for (let j = 0; j <= query; j++) total += row[j];
    if (Math.abs(total) < 1e-6) throw new Error('a row sums to 0, so its masses cannot be normalised');
    let s = 0;
    for (let j = Math.max(a, 1); j < Math.min(b, query + 1); j++) s += row[j];
    const f = row[0];
    sel += s / total;
    first += f / total;
    rest += (total - s - f) / total;
  }
  return { selection: sel / n, firstToken: first / n, rest: rest / n, rows: n };
}
