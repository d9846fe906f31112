/** CSV and JSON of the current rows, as the Export command writes them. */
import type { RowsPayload } from './protocol';

export interface RowsExport {
  model: string;
  source: string;
  query: { index: number; text: string };
  lambdas: number[];
  tokens: { index: number; text: string; start: number; end: number }[];
  rows: RowsPayload;
}

const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** One line per (layer, head, key token): a, and a1 / λ·a2 for DIFF. Numbers in full float32 precision. */
export function rowsToCsv(e: RowsExport): string {
  const r = e.rows;
  const diff = !!(r.a1 && r.a2);
  const head = ['model', 'layer', 'head', 'query', 'key', 'key_text', 'a', ...(diff ? ['a1', 'lambda_a2', 'lambda'] : [])];
  const lines = [head.join(',')];
  for (let l = 0; l < r.layers; l++)
    for (let h = 0; h < r.heads; h++)
      for (let j = 0; j <= r.query; j++) {
        const k = (l * r.heads + h) * r.tokens + j;
        const cells = [e.model, String(l), String(h), String(r.query), String(j), csvCell(e.tokens[j]?.text ?? ''), String(r.a[k])];
        if (diff) cells.push(String(r.a1![k]), String(r.a1![k] - r.a[k]), String(e.lambdas[l] ?? ''));
        lines.push(cells.join(','));
      }
  return lines.join('\n') + '\n';
}

export function rowsToJson(e: RowsExport): string {
  const r = e.rows;
  const slice = (x: Float32Array | undefined, l: number, h: number) =>
    x ? Array.from(x.subarray((l * r.heads + h) * r.tokens, (l * r.heads + h) * r.tokens + r.query + 1)) : undefined;
  const layers = Array.from({ length: r.layers }, (_, l) => ({
    layer: l,
    lambda: e.lambdas[l],
    heads: Array.from({ length: r.heads }, (_, h) => ({ head: h, a: slice(r.a, l, h), a1: slice(r.a1, l, h), a2: slice(r.a2, l, h) })),
  }));
  return JSON.stringify({ format: 'attention-inspector.rows/1', model: e.model, source: e.source, query: e.query, tokens: e.tokens.slice(0, r.query + 1), layers }, null, 1) + '\n';
}
