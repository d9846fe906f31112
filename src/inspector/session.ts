/**
 * One analyzed text: the document window, its tokens, the models run on it, and cached answers from the panel.
 * Knows how to turn (view, heads, direction, token) into one weight per token.
 */
import type * as vscode from 'vscode';
import { groupSpans, type Aggregation, type Group } from '../core/grouping';
import type { AnalysisInfo, RowsPayload, TensorPayload, AnalysisQuery } from '../core/protocol';
import type { TokenSpan } from '../core/tokenizer';
import { WHAT_IF_IDS, lambdaA2, reduceRows, selectRow, selectedHeads, viewInfo, type Direction, type HeadSelection, type ViewId } from '../core/views';

export interface PanelAccess {
  rows(model: string, query: number): Promise<RowsPayload>;
  query(model: string, q: AnalysisQuery): Promise<TensorPayload>;
}

const ROWS_CACHE = 64;

export class Session {
  readonly runs = new Map<string, AnalysisInfo>();
  stale = false;
  /** A newer analysis replaced this one in the panel; nothing may be read for it any more. */
  retired = false;
  /** The longest window the chosen model was trained on (from its manifest), when it says. */
  trainedContext: number | undefined;
  private readonly groupCache = new Map<Aggregation, Group[]>();
  private readonly rowsCache = new Map<string, Promise<RowsPayload>>();
  private readonly surprisal = new Map<string, Promise<Float32Array>>();

  constructor(
    readonly doc: vscode.TextDocument,
    readonly version: number,
    /** Offsets of the analyzed window in the document. */
    readonly start: number,
    readonly end: number,
    readonly text: string,
    readonly spans: TokenSpan[],
    readonly ids: Int32Array,
    /** 1-based first and last line of the window, and the document's line count. */
    readonly lines: { first: number; last: number; total: number },
    private readonly panel: PanelAccess,
  ) {}

  /** The document's length now, without copying its text (a 1 MB document's getText() on every cursor move adds up). */
  get docLength(): number {
    const d = this.doc;
    return d.offsetAt(d.lineAt(d.lineCount - 1).range.end);
  }

  get tokens(): number {
    return this.spans.length;
  }

  groups(mode: Aggregation): Group[] {
    let g = this.groupCache.get(mode);
    if (!g) this.groupCache.set(mode, (g = groupSpans(this.text, this.spans, mode)));
    return g;
  }

  private labelCache: string[] | undefined;

  /** Display text of each token (whitespace made visible), for the panel's labels and the hover card. */
  get labels(): string[] {
    return (this.labelCache ??= this.spans.map((s) => label(this.text.slice(s.start, s.end))));
  }

  /** Document offsets of token `t`. */
  tokenRange(t: number): [number, number] {
    return [this.start + this.spans[t].start, this.start + this.spans[t].end];
  }

  rows(model: string, query: number): Promise<RowsPayload> {
    const key = `${model}:${query}`;
    let r = this.rowsCache.get(key);
    if (r) {
      this.rowsCache.delete(key);
      this.rowsCache.set(key, r);
      return r;
    }
    r = this.panel.rows(model, query).then((rows) => {
      if (rows.tokens !== this.tokens) throw new Error('the panel holds a different analysis now; hover again');
      return rows;
    });
    r.catch(() => this.rowsCache.delete(key));
    this.rowsCache.set(key, r);
    while (this.rowsCache.size > ROWS_CACHE) this.rowsCache.delete(this.rowsCache.keys().next().value!);
    return r;
  }

  /** One weight per token for the focused token `t`. */
  async weights(model: string, view: ViewId, sel: HeadSelection, direction: Direction, t: number): Promise<Float32Array> {
    const info = this.runs.get(model);
    if (!info) throw new Error(`${model} has not analyzed this text`);
    const T = info.tokens;
    const v = viewInfo(view);
    const diff = info.lambdas.length > 0;
    if (!diff && !v.softmax) throw new Error(`${v.label} exists only for DIFF models; ${model} is a softmax model. Choose the view "A1 − λ·A2 (DIFF) / A (softmax)".`);
    if (view === 'valueWeighted' && !info.valueWeighted) throw new Error(`${v.label} needs the value norms that ${model} does not output (models opened from an ONNX graph have none); export the model with training/export_model.py to get them`);
    if (direction === 'attendedBy' && !v.columns) throw new Error(`"attended by" is available for the view A1 − λ·A2 / A only; ${v.label} is computed per query row.`);
    const pairs = selectedHeads(sel, info.layers, info.heads);
    const reduce = (rows: Float32Array[]) => (rows.length === 1 ? rows[0] : reduceRows(rows, sel.head === 'maxAbs' ? 'maxAbs' : 'mean'));
    if (view === 'surprisal') {
      let s = this.surprisal.get(model);
      if (!s) {
        s = this.panel.query(model, { kind: 'surprisal' }).then((p) => p.data);
        s.catch(() => this.surprisal.delete(model));
        this.surprisal.set(model, s);
      }
      return s;
    }
    if (view === 'rollout:abs' || view === 'rollout:positive') {
      return (await this.panel.query(model, { kind: 'rollout', query: t, mode: view === 'rollout:abs' ? 'abs' : 'positive' })).data;
    }
    if (direction === 'attendedBy') {
      const out: Float32Array[] = [];
      const layers = [...new Set(pairs.map(([l]) => l))];
      for (const l of layers) {
        const cols = await this.panel.query(model, { kind: 'columns', layer: l, key: t });
        for (const [pl, h] of pairs) if (pl === l) out.push(cols.data.subarray(h * T, (h + 1) * T));
      }
      return reduce(out.map((r) => Float32Array.from(r)));
    }
    if (view === 'model' || view === 'a1' || view === 'lambdaA2') {
      const r = await this.rows(model, t);
      const data = view === 'model' ? r.a : view === 'a1' ? r.a1! : lambdaA2(r.a1!, r.a);
      return selectRow(data, r.layers, r.heads, r.tokens, sel);
    }
    if (view === 'valueWeighted') {
      const out: Float32Array[] = [];
      for (const [l, h] of pairs) out.push((await this.panel.query(model, { kind: 'valueWeighted', layer: l, head: h, query: t })).data);
      return reduce(out);
    }
    const idx = WHAT_IF_IDS.indexOf(view.slice('whatIf:'.length) as (typeof WHAT_IF_IDS)[number]);
    if (idx < 0) throw new Error(`unknown view ${view}`);
    const out: Float32Array[] = [];
    for (const [l, h] of pairs) {
      const p = await this.panel.query(model, { kind: 'whatIf', layer: l, head: h, query: t });
      out.push(p.data.slice(idx * T, (idx + 1) * T));
    }
    return reduce(out);
  }
}

export function label(s: string): string {
  if (s === '') return '…';
  return s.replace(/\r\n|\n|\r/g, '↵').replace(/\t/g, '⇥');
}
