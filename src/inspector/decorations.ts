/**
 * The editor's tints: a fixed set of 16 decoration types created once — LEVELS warm levels for positive weights,
 * LEVELS cool levels for negative ones, an outline for the focused token and overview-ruler marks for the
 * strongest targets. Every colour is a contributed theme colour, so themes can override it.
 */
import * as vscode from 'vscode';
import { LEVELS, levelOf, maxAbsExcept, topIndices } from '../core/colorScale';

export const RULER_MARKS = 10;

export interface AppliedDecorations {
  /** Per level key ("+3", "-1", "focus", "ruler"): the ranges as [startOffset, endOffset] in the document. */
  ranges: Record<string, [number, number][]>;
  uri: string;
}

export class Decorator implements vscode.Disposable {
  private readonly positive: vscode.TextEditorDecorationType[];
  private readonly negative: vscode.TextEditorDecorationType[];
  private readonly focus: vscode.TextEditorDecorationType;
  private readonly ruler: vscode.TextEditorDecorationType;
  private applied: { editor: vscode.TextEditor; snapshot: AppliedDecorations } | undefined;

  constructor() {
    const tint = (kind: 'positive' | 'negative', l: number) =>
      vscode.window.createTextEditorDecorationType({
        backgroundColor: new vscode.ThemeColor(`attentionInspector.${kind}${l}`),
        borderRadius: '2px',
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      });
    this.positive = Array.from({ length: LEVELS }, (_, i) => tint('positive', i + 1));
    this.negative = Array.from({ length: LEVELS }, (_, i) => tint('negative', i + 1));
    this.focus = vscode.window.createTextEditorDecorationType({
      borderWidth: '1px',
      borderStyle: 'solid',
      borderColor: new vscode.ThemeColor('attentionInspector.focusBorder'),
      borderRadius: '2px',
    });
    this.ruler = vscode.window.createTextEditorDecorationType({
      overviewRulerColor: new vscode.ThemeColor('attentionInspector.overviewRuler'),
      overviewRulerLane: vscode.OverviewRulerLane.Right,
    });
  }

  /** Number of decoration types this extension ever creates (the bound is 16). */
  static readonly typeCount = 2 * LEVELS + 2;

  /**
   * Tints `targets` (document offset ranges) by their weights, outlines `focus`, and marks the strongest in the
   * overview ruler. `skip` is the target index of the focus itself, left out of the scale.
   */
  apply(editor: vscode.TextEditor, targets: readonly [number, number][], weights: ArrayLike<number>, focus: [number, number] | undefined, skip = -1): void {
    if (this.applied && this.applied.editor !== editor) this.clear();
    const doc = editor.document;
    const max = maxAbsExcept(weights, skip);
    const byLevel = new Map<number, [number, number][]>();
    for (let k = 0; k < targets.length; k++) {
      if (k === skip) continue;
      const l = levelOf(weights[k], max);
      if (l === 0 || targets[k][1] <= targets[k][0]) continue;
      let list = byLevel.get(l);
      if (!list) byLevel.set(l, (list = []));
      list.push(targets[k]);
    }
    const toRanges = (list: readonly [number, number][]) => list.map(([a, b]) => new vscode.Range(doc.positionAt(a), doc.positionAt(b)));
    const snapshot: AppliedDecorations = { ranges: {}, uri: doc.uri.toString() };
    for (let l = 1; l <= LEVELS; l++) {
      const pos = byLevel.get(l) ?? [];
      const neg = byLevel.get(-l) ?? [];
      editor.setDecorations(this.positive[l - 1], toRanges(pos));
      editor.setDecorations(this.negative[l - 1], toRanges(neg));
      if (pos.length) snapshot.ranges[`+${l}`] = pos;
      if (neg.length) snapshot.ranges[`-${l}`] = neg;
    }
    const nonEmpty = Array.from(weights, (w, k) => (targets[k][1] > targets[k][0] ? w : 0));
    const ruler = topIndices(nonEmpty, RULER_MARKS, skip).map((k) => targets[k]);
    editor.setDecorations(this.ruler, toRanges(ruler));
    snapshot.ranges.ruler = ruler;
    editor.setDecorations(this.focus, focus ? toRanges([focus]) : []);
    if (focus) snapshot.ranges.focus = [focus];
    this.applied = { editor, snapshot };
  }

  /** What is on screen now, for the tests and the hover card. */
  snapshot(): AppliedDecorations | undefined {
    return this.applied?.snapshot;
  }

  /** Clears the tints in every visible editor of the tinted document (VS Code may have replaced the editor object). */
  clear(): void {
    const e = this.applied?.editor;
    this.applied = undefined;
    if (!e) return;
    for (const v of new Set([e, ...vscode.window.visibleTextEditors.filter((v) => v.document === e.document)])) {
      for (const t of this.types()) v.setDecorations(t, []);
    }
  }

  private types(): vscode.TextEditorDecorationType[] {
    return [...this.positive, ...this.negative, this.focus, this.ruler];
  }

  dispose(): void {
    this.clear();
    for (const t of this.types()) t.dispose();
  }
}
