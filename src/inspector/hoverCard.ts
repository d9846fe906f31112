/**
 * The hover card's Markdown: the focused token, where the weights come from, and the strongest targets with their
 * weights; for DIFF the split A1 and λ·A2 with λ; the twin's figures beside them when comparing. Pure text, so the
 * host wraps it in a MarkdownString and the tests read it.
 */
import { topIndices } from '../core/colorScale';

export interface HoverFigures {
  model: string;
  token: { index: number; label: string };
  where: string;
  viewLabel: string;
  direction: 'attendsTo' | 'attendedBy';
  weights: Float32Array;
  labels: string[];
  /** DIFF split on the same selection (only for the model's own view, attends-to). */
  a1?: Float32Array;
  lambdaA2?: Float32Array;
  /** λ of the selected layer, or of every layer when the selection spans layers. */
  lambdas?: number[];
  /** DIFF V2: λ is this token's (mean over the selected heads per layer), not a per-layer constant. */
  lambdaPerToken?: boolean;
  twin?: { model: string; where: string; weights: Float32Array };
  top?: number;
}

const md = (s: string) => s.replace(/[\\`*_[\]|<>]/g, (c) => '\\' + c);
// In a GFM table a pipe ends the cell even inside a code span, so it is escaped there too.
const code = (s: string) => '`' + (s.length > 24 ? s.slice(0, 23) + '…' : s).replace(/`/g, 'ˋ').replace(/\|/g, '\\|') + '`';
const num = (v: number) => (Number.isFinite(v) ? (Math.abs(v) >= 0.001 || v === 0 ? v.toFixed(3) : v.toExponential(1)) : '—');

export function hoverMarkdown(f: HoverFigures): string {
  const n = f.top ?? 8;
  const top = topIndices(f.weights, n);
  const lines: string[] = [];
  lines.push(`**Attention Inspector** · ${md(f.model)} · ${md(f.where)}`);
  lines.push('');
  lines.push(`${f.direction === 'attendsTo' ? 'Token' : 'Key'} #${f.token.index} ${code(f.token.label)} — ${md(f.viewLabel)}, ${f.direction === 'attendsTo' ? 'attends to' : 'attended by'}:`);
  if (f.lambdas?.length) lines.push('', `${f.lambdaPerToken ? 'λ at this token (DIFF V2: σ(W_λ x) per token and head; mean over the selected heads, per layer)' : 'λ'} = ${f.lambdas.map(num).join(', ')}`);
  lines.push('');
  const split = !!(f.a1 && f.lambdaA2);
  const head = ['#', 'token', 'weight', ...(split ? ['A1', 'λ·A2'] : []), ...(f.twin ? [`${md(f.twin.model)}`] : [])];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i < 2 ? ':--' : '--:')).join('|')}|`);
  for (const j of top) {
    const cells = [String(j), code(f.labels[j] ?? ''), num(f.weights[j])];
    if (split) cells.push(num(f.a1![j]), num(f.lambdaA2![j]));
    if (f.twin) cells.push(num(f.twin.weights[j]));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (top.length === 0) lines.push(`| — | no non-zero weights | | ${split ? '| | ' : ''}${f.twin ? '| ' : ''}`);
  if (f.twin) lines.push('', `${md(f.twin.model)}: ${md(f.twin.where)}`);
  return lines.join('\n');
}
