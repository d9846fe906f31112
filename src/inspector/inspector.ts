/**
 * The inspector on editor text: analyses a document (or selection, or the window around the cursor), keeps the
 * session, paints the tints for the hovered or cursor token, answers the hover card, keeps the panel in step, and
 * invalidates everything on edits and closes. All state lives here; the panel draws what it is sent.
 */
import * as vscode from 'vscode';
import { isBundled, type ModelStore } from '../analysis/modelStore';
import { Coalescer, withTimeout } from '../core/coalescer';
import { aggregate, groupOf, tokenAt, type Aggregation } from '../core/grouping';
import { measureSpanMass } from '../core/measure';
import { reanalyzeDelayMs } from '../core/settings';
import type { ExplorerState, MeasureReport, PanelState } from '../core/protocol';
import { CHARS_PER_TOKEN, contextNote } from '../core/textWindow';
import { describeSelection, lambdaA2, selectRow, viewInfo, type Direction, type HeadSelection, type ViewId } from '../core/views';
import type { PanelProvider } from '../panel/panelProvider';
import type { StatusItem } from '../statusItem';
import { Decorator } from './decorations';
import { hoverMarkdown } from './hoverCard';
import { Session } from './session';

const cfg = () => vscode.workspace.getConfiguration('attentionInspector');
/** One token's weights come back in milliseconds; far longer means the request is lost, and later hovers must not wait. */
const PAINT_TIMEOUT_MS = 20_000;

export interface InspectorSnapshot {
  model: string;
  compare: boolean;
  followCursor: boolean;
  selection: HeadSelection;
  view: ViewId;
  direction: Direction;
  aggregation: Aggregation;
  focus: number | null;
  /** Model passes the inspector has asked the panel for since activation (tests check that superseded ones are skipped). */
  panelAnalyses: number;
  session?: { uri: string; version: number; start: number; end: number; tokens: number; stale: boolean; models: string[]; lines: { first: number; last: number; total: number } };
}

export class Inspector implements vscode.Disposable {
  readonly decorator = new Decorator();
  private session: Session | undefined;
  model = 'twin-diff';
  compare = false;
  followCursor: boolean;
  selection: HeadSelection = { layer: 'all', head: 'mean' };
  view: ViewId = 'model';
  direction: Direction = 'attendsTo';
  aggregation: Aggregation;
  private focus: number | null = null;
  private measure: MeasureReport | null = null;
  private generation = 0;
  private readonly painter = new Coalescer();
  private paintSeq = 0;
  private reanalyzeTimer: ReturnType<typeof setTimeout> | undefined;
  private panelTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private warned = new Set<string>();
  private lastAnalysis: Promise<unknown> = Promise.resolve();
  /**
   * The analysis the panel is running (or the last one). The panel runs one model pass at a time; a newer analysis
   * waits for this one instead of queueing behind it, and analyses superseded while they wait never reach the panel,
   * so Analyze pressed twenty times, or a reanalysis after every pause in typing, leaves no backlog there.
   */
  private panelLane: Promise<unknown> = Promise.resolve();
  private panelAnalyses = 0;
  /** Analyses started and not yet settled. */
  private analysing = 0;
  private reanalyzeDoc: vscode.TextDocument | undefined;
  private hovered = false;
  /** Counts the sessions shown, so the explorer can tell an answer for an older one. */
  private shown = 0;
  private readonly stateEmitter = new vscode.EventEmitter<void>();
  /** Whatever the panels draw changed (a new analysis, the focus, the head, the measure, or the analysis cleared). */
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(
    private readonly panel: PanelProvider,
    private readonly models: ModelStore,
    private readonly status: StatusItem,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.followCursor = cfg().get<boolean>('followCursor', true);
    const agg = cfg().get<string>('aggregation', 'token');
    this.aggregation = agg === 'word' || agg === 'line' ? agg : 'token';
    const m = cfg().get<string>('model', 'twin-diff');
    this.model = isBundled(m) ? m : 'twin-diff';
    panel.firstModel = () => this.model;
    this.subs.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (this.session?.doc === d) this.clear('the document was closed');
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.languages.registerHoverProvider('*', { provideHover: (d, p, t) => this.provideHover(d, p, t) }),
      panel.onDidSelectHead(({ layer, head }) => this.setSelection({ layer, head })),
      panel.onDidFocusToken((t) => void this.focusToken(t)),
      this.stateEmitter,
      panel.onDidReset(() => {
        if (this.session) this.clear('the panel reloaded');
      }),
      // The panel's webview has started (or its backend changed): load the runtime and the model now, so that the first
      // Analyze does not wait for them.
      panel.onDidChangeCapabilities(() => this.panel.warm(this.model)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('attentionInspector.aggregation')) {
          const a = cfg().get<string>('aggregation', 'token');
          this.setAggregation(a === 'word' || a === 'line' ? a : 'token');
        }
      }),
    );
    void this.setContext();
  }

  snapshot(): InspectorSnapshot {
    const s = this.session;
    return {
      model: this.model,
      compare: this.compare,
      followCursor: this.followCursor,
      selection: this.selection,
      view: this.view,
      direction: this.direction,
      aggregation: this.aggregation,
      focus: this.focus,
      panelAnalyses: this.panelAnalyses,
      session: s && { uri: s.doc.uri.toString(), version: s.version, start: s.start, end: s.end, tokens: s.tokens, stale: s.stale, models: [...s.runs.keys()], lines: s.lines },
    };
  }

  private async setContext(): Promise<void> {
    await vscode.commands.executeCommand('setContext', 'attentionInspector.active', !!this.session && !this.session.stale);
    await vscode.commands.executeCommand('setContext', 'attentionInspector.followCursor', this.followCursor);
    await vscode.commands.executeCommand('setContext', 'attentionInspector.compare', this.compare);
  }

  // ------------------------------------------------------------------------------------------------- analysis

  /** Analyses the editor's document (or `range` of it). Resolves when the analysis is shown, or undefined when superseded. */
  analyze(editor: vscode.TextEditor, range?: vscode.Range): Promise<Session | undefined> {
    const run = this.analyzeNow(editor, range);
    // Settles once the new session is installed (or the run failed): hovers during the run wait for this.
    this.analysing++;
    this.lastAnalysis = run.catch(() => undefined).finally(() => this.analysing--);
    return run;
  }

  private async analyzeNow(editor: vscode.TextEditor, range?: vscode.Range): Promise<Session | undefined> {
    const doc = editor.document;
    const gen = ++this.generation;
    clearTimeout(this.reanalyzeTimer);
    const model = this.model;
    const compare = this.compare;
    // The webview loads the runtime and the model's session while the host reads and tokenizes the text.
    // (Only the chosen model: the twin runs after it, and its session is created then, not during this model's run.)
    this.panel.warm(model);
    const { pkg } = await this.models.load(model);
    // A user's model is loaded (and checked) in the panel first: its attention may have to be read from full maps,
    // which limits the window.
    const loaded = await this.panel.ensureModel(model);
    // A setting of 0, 2.5 or "abc" must not break the window: clamped to an integer of at least 2.
    const setting = Number(cfg().get<number>('maxTokens', 4096));
    const maxTokens = Math.max(2, Math.floor(Math.min(Number.isFinite(setting) ? setting : 4096, pkg.manifest.maxContext, loaded?.tokenLimit ?? Infinity)));
    if (loaded?.readFrom === 'probs') {
      const key = `probs:${model}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        const why = `${model}: its Q and K do not reproduce the attention its graph computes (largest difference ${Number.isFinite(loaded.maxError) ? loaded.maxError.toExponential(1) : 'not measured: the scale is computed at run time'}), so attention is read from the graph's softmax outputs. Full maps limit the input to ${loaded.tokenLimit} tokens, and the what-if views are unavailable.`;
        this.log.warn(why);
        void vscode.window.showInformationMessage(`Attention Inspector: ${why}`);
      }
    } else if (loaded?.cacheNote && !this.warned.has(`cache:${model}`)) {
      this.warned.add(`cache:${model}`);
      const why = `${model}: ${loaded.cacheNote} (${loaded.tokenLimit} tokens).`;
      this.log.warn(why);
      void vscode.window.showInformationMessage(`Attention Inspector: ${why}`);
    }
    // The text is read here, with its version: everything below (tokens, ranges) is about this version. A long text
    // is read only around the cursor, with room for the window textWindow.ts chooses (at most maxTokens ·
    // CHARS_PER_TOKEN characters): a 1 MB line or a 200k-token file costs the host what a short file does.
    const version = doc.version;
    const rStart = range ? doc.offsetAt(range.start) : 0;
    const rEnd = range ? doc.offsetAt(range.end) : doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
    const cursorAbs = Math.max(rStart, Math.min(rEnd, doc.offsetAt(editor.selection.active)));
    const reach = maxTokens * CHARS_PER_TOKEN + 1024;
    let base = rStart;
    let readEnd = rEnd;
    if (rEnd - rStart > 2 * reach) {
      // Offsets normalised through positions (an offset between \r and \n maps to the line's end).
      base = doc.offsetAt(doc.positionAt(Math.max(rStart, cursorAbs - reach)));
      readEnd = doc.offsetAt(doc.positionAt(Math.min(rEnd, cursorAbs + reach)));
    }
    const sliced = base > rStart || readEnd < rEnd;
    const text = doc.getText(new vscode.Range(doc.positionAt(base), doc.positionAt(readEnd)));
    const blank = (t: string) => !/\S/.test(t); // the characters trim() removes
    if (blank(text) && (!sliced || blank(range ? doc.getText(range) : doc.getText()))) {
      throw new Error(range ? 'the selection is empty: select some text, or run Analyze Document' : 'the document is empty: there is nothing to analyze');
    }
    const odd = countBinary(text);
    if (odd > Math.max(8, text.length * 0.1)) {
      throw new Error(`this looks like a binary file (${Math.round((100 * odd) / text.length)}% NUL or undecodable characters); Attention Inspector analyses text`);
    }
    // Tokenized in a worker thread (a 1 MB line or a 200k-token file must not stall the extension host), and only the
    // window that is analysed (textWindow.ts): its spans are relative to win.start.
    const win = await this.models.tokenizeWindow(model, text, cursorAbs - base, maxTokens);
    win.partial ||= sliced;
    if (gen !== this.generation) return undefined;
    if (win.ids.length === 0) throw new Error('nothing to analyze: the text has no tokens');
    const start = base + win.start;
    const end = base + win.end;
    // (If the document was edited meanwhile these are off, but then the session is dropped below, never shown.)
    const lines = { first: doc.positionAt(start).line + 1, last: doc.positionAt(Math.max(start, end - 1)).line + 1, total: doc.lineCount };
    const ids = Int32Array.from(win.ids);
    const models = compare ? [model, this.twin()] : [model];
    // The panel's analyses are about to be replaced: the old session must not read rows that belong to the new text.
    this.retire();
    const session = new Session(doc, version, start, end, text.slice(win.start, win.end), win.spans, ids, lines, this.panel);
    const trained = (pkg.manifest.training as { contextTrained?: unknown }).contextTrained;
    session.trainedContext = typeof trained === 'number' && trained > 0 ? trained : undefined;
    const title = `Attention Inspector: analyzing ${ids.length} tokens with ${models.join(' and ')}`;
    const before = this.panelLane;
    const work = (async () => {
      await before;
      if (gen !== this.generation) return undefined;
      for (const m of models) {
        if (m !== model) await this.checkSameTokens(m, session, model);
        this.panelAnalyses++;
        const info = await this.panel.analyze(m, ids, (done, total) => this.reportProgress(`analyzing ${ids.length} tokens`, done, total));
        if (gen !== this.generation) return undefined;
        session.runs.set(m, info);
      }
      return session;
    })();
    this.panelLane = work.catch(() => undefined);
    let done: Session | undefined;
    try {
      done = await this.withProgress(title, `analyzing ${ids.length} tokens`, work, () => {
        if (gen === this.generation) this.generation++;
      });
    } catch (e) {
      if (gen === this.generation) this.clear(`the analysis failed: ${message(e)}`);
      throw e;
    }
    if (!done || gen !== this.generation) return undefined;
    if (doc.isClosed) return undefined;
    if (doc.version !== session.version) {
      // Edited while the model ran: the spans no longer match the text.
      this.scheduleReanalyze(true, doc);
      return undefined;
    }
    if (this.model !== model || this.compare !== compare) {
      // The model (or the comparison) was switched while this one ran: analyze again with the current choice.
      return this.analyze(editor, range);
    }
    this.session = session;
    this.shown++;
    this.focus = null;
    this.measure = null;
    this.updateStatus();
    await this.setContext();
    if (win.partial && !range) {
      const msg = `Attention Inspector analyzed lines ${lines.first}–${lines.last} of ${lines.total} (${ids.length} tokens around the cursor; setting attentionInspector.maxTokens).`;
      vscode.window.setStatusBarMessage(msg, 8000);
      this.log.info(msg);
    }
    const info = session.runs.get(this.model)!;
    this.log.info(`analyzed ${doc.uri.toString(true)} lines ${lines.first}–${lines.last}: ${ids.length} tokens, ${[...session.runs.values()].map((r) => `${r.model} ${r.runMs.toFixed(0)} ms`).join(', ')} on ${info.backend}`);
    this.pushPanel(true);
    if (this.view === 'surprisal') void this.paint(0);
    else {
      // Show something at once: the cursor's token when following it, else the window's last token (the one
      // predicting what comes next, with the whole window as context).
      const active = vscode.window.activeTextEditor;
      const cursor = active?.document === doc ? doc.offsetAt(active.selection.active) : -1;
      if (this.followCursor && cursor > session.start && cursor <= session.end) void this.focusOffset(cursor);
      else void this.paint(session.tokens - 1);
    }
    return session;
  }

  /** Stops the current session from painting or answering (its panel analyses are being replaced). */
  private retire(): void {
    this.paintSeq++;
    this.painter.cancelQueued();
    this.decorator.clear();
    if (this.session) this.session.retired = true;
  }

  /** The chosen model's twin; an error that says so when it has none. */
  twin(): string {
    const t = this.models.twinOf(this.model);
    if (!t) throw new Error(`${this.model} has no twin model to compare with: Compare With Twin and the twin column of Measure Attention To Selection work with the bundled pair (twin-diff, twin-softmax)`);
    return t;
  }

  private async checkSameTokens(model: string, s: Session, base = this.model): Promise<void> {
    const ids = await this.models.encodeIds(model, s.text);
    if (ids.length !== s.ids.length || ids.some((v, i) => v !== s.ids[i])) {
      throw new Error(`${model} tokenizes this text differently from ${base}, so the two cannot be compared token by token`);
    }
  }

  /** Runs a model on the session's text when it has not run yet (twin comparison, measurement). */
  private async ensureRun(model: string): Promise<void> {
    const s = this.need();
    if (s.runs.has(model)) return;
    await this.checkSameTokens(model, s);
    const gen = this.generation;
    const info = await this.withProgress(`Attention Inspector: analyzing with ${model}`, `analyzing with ${model}`, this.panel.analyze(model, s.ids), () => undefined);
    if (gen !== this.generation || this.session !== s) throw new Error('the analysis was replaced while the twin ran; run the command again');
    s.runs.set(model, info);
  }

  private need(): Session {
    const s = this.session;
    if (!s) throw new Error('nothing is analyzed: run "Attention Inspector: Analyze Document" first');
    if (s.stale) throw new Error('the document changed since it was analyzed: run "Attention Inspector: Analyze Document" again');
    if (s.retired) throw new Error('a new analysis is running; run the command again when it has finished');
    return s;
  }

  private scheduleReanalyze(force = false, target?: vscode.TextDocument): void {
    if (!this.followCursor && !force) return;
    clearTimeout(this.reanalyzeTimer);
    const delay = reanalyzeDelayMs(cfg().inspect('reanalyzeDelayMs'), cfg().inspect('reanalyseDelayMs'));
    const s = this.session;
    const doc = target ?? s?.doc ?? vscode.window.activeTextEditor?.document;
    this.reanalyzeDoc = doc;
    this.reanalyzeTimer = setTimeout(() => {
      this.reanalyzeDoc = undefined;
      const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
      if (!editor || editor.document.isClosed) return;
      this.analyze(editor).catch((e) => this.warn(e));
    }, delay);
  }

  clear(reason?: string): void {
    this.generation++;
    clearTimeout(this.reanalyzeTimer);
    this.reanalyzeDoc = undefined;
    this.painter.cancelQueued();
    this.paintSeq++;
    this.decorator.clear();
    this.session = undefined;
    this.focus = null;
    this.measure = null;
    this.panel.updateView(null);
    this.stateEmitter.fire();
    this.updateStatus();
    void this.setContext();
    if (reason) this.log.info(`inspector cleared: ${reason}`);
  }

  // ------------------------------------------------------------------------------------------------- events

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const s = this.session;
    if (e.contentChanges.length === 0) return;
    // A reanalysis already waiting for this document (e.g. an analysis was dropped because the text changed while it
    // ran) waits for a pause in typing: every keystroke pushes it back, so no model pass is spent on outdated text.
    const pending = this.reanalyzeDoc === e.document;
    if (s && e.document === s.doc) {
      // Stale highlights go at once; with Follow Cursor on, the text is analyzed again after a pause.
      this.paintSeq++;
      this.painter.cancelQueued();
      this.decorator.clear();
      s.stale = true;
      this.focus = null;
      this.updateStatus();
      void this.setContext();
      this.stateEmitter.fire();
    }
    if (pending) this.scheduleReanalyze(true, e.document);
    else if (s && e.document === s.doc) this.scheduleReanalyze();
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    const s = this.session;
    if (!this.followCursor || !s || s.stale || e.textEditor.document !== s.doc) return;
    const off = s.doc.offsetAt(e.selections[0].active);
    if ((off < s.start || off > s.end) && (s.start > 0 || s.end < s.docLength)) {
      // The cursor left the analyzed window of a long document: analyze the window around it.
      this.scheduleReanalyze();
      return;
    }
    this.focusOffset(off);
  }

  /** Focuses the token at a document offset and paints its weights. */
  focusOffset(offset: number): Promise<Float32Array | undefined> {
    const s = this.session;
    if (!s || s.stale || s.retired || offset < s.start || offset > s.end) return Promise.resolve(undefined);
    const t = tokenAt(s.spans, offset - s.start);
    if (t < 0) return Promise.resolve(undefined);
    return this.paint(t);
  }

  /** Paints the weights of token `t` (latest request wins). */
  paint(t: number): Promise<Float32Array | undefined> {
    const s = this.session;
    if (!s) return Promise.resolve(undefined);
    const seq = ++this.paintSeq;
    this.focus = this.view === 'surprisal' ? null : t;
    return this.painter
      .run(async () => {
        const live = () => seq === this.paintSeq && this.session === s && !s.stale && !s.retired && !s.doc.isClosed;
        if (!live()) return undefined;
        const w = await withTimeout(s.weights(this.model, this.view, this.selection, this.direction, t), PAINT_TIMEOUT_MS, `the panel took longer than ${PAINT_TIMEOUT_MS / 1000} s to answer for one token; hover again`);
        if (!live()) return undefined;
        const editor = vscode.window.visibleTextEditors.find((e) => e.document === s.doc);
        if (!editor) {
          // The text is hidden (the explorer over it): nothing to tint, but the panels show the new focus.
          this.schedulePanel();
          return undefined;
        }
        const groups = s.groups(this.aggregation);
        const agg = this.aggregation === 'token' ? w : aggregate(w, groups);
        const targets = groups.map((g) => [s.start + g.start, s.start + g.end] as [number, number]);
        const surprisal = this.view === 'surprisal';
        const skip = surprisal ? -1 : groupOf(groups, t);
        this.decorator.apply(editor, targets, agg, surprisal ? undefined : s.tokenRange(t), skip);
        this.schedulePanel();
        return w;
      })
      .catch((e) => {
        // Errors of a request that a newer analysis, edit or hover made moot are not the user's concern.
        if (seq === this.paintSeq && this.session === s && !s.stale && !s.retired) this.warn(e);
        else this.log.debug(`dropped a superseded paint: ${message(e)}`);
        return undefined;
      });
  }

  private async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    // A hover during an analysis waits for it rather than showing nothing until the pointer moves again.
    if (this.session?.retired || this.analysing > 0) await this.lastAnalysis;
    const s = this.session;
    if (!s || doc !== s.doc || s.retired || token.isCancellationRequested) return undefined;
    if (s.stale) return new vscode.Hover('Attention Inspector: the text changed since it was analyzed' + (this.followCursor ? '; analyzing again…' : '; run Analyze Document again.'));
    const off = doc.offsetAt(pos);
    if (off < s.start || off > s.end) return new vscode.Hover(`Attention Inspector analyzed lines ${s.lines.first}–${s.lines.last} only; move the cursor here and run Analyze Document to analyze around it.`);
    const t = tokenAt(s.spans, off - s.start);
    if (this.view === 'surprisal') return undefined;
    const w = await this.paint(t);
    if (!w || token.isCancellationRequested || this.session !== s) return undefined;
    try {
      const md = await this.hoverText(s, t, w);
      if (token.isCancellationRequested) return undefined;
      if (!this.hovered) {
        this.hovered = true;
        void vscode.commands.executeCommand('setContext', 'attentionInspector.hovered', true); // the walkthrough's hover step
      }
      const r = s.tokenRange(t);
      // One trusted command link, and only it: the card's other text comes from the document and the model.
      const m = new vscode.MarkdownString(`${md}\n\n[Open Explorer](command:attentionInspector.openExplorer "the selected head large, DIFF's decomposition, the twins side by side")`);
      m.isTrusted = { enabledCommands: ['attentionInspector.openExplorer'] };
      m.supportHtml = false;
      return new vscode.Hover(m, new vscode.Range(doc.positionAt(r[0]), doc.positionAt(r[1])));
    } catch (e) {
      return new vscode.Hover(`Attention Inspector: ${message(e)}`);
    }
  }

  /** The hover card's Markdown for token `t` of the session (its weights `w` already computed). */
  async hoverText(s: Session, t: number, w: Float32Array): Promise<string> {
    const info = s.runs.get(this.model)!;
    const labels = s.labels;
    const where = `${describeSelection(this.selection)} · ${viewInfo(this.view).label}`;
    let a1: Float32Array | undefined;
    let l2: Float32Array | undefined;
    const split = info.lambdas.length > 0 && this.view === 'model' && this.direction === 'attendsTo';
    const perToken = info.attention === 'diff-v2';
    const r = split || perToken ? await s.rows(this.model, t) : undefined;
    if (split && r) {
      a1 = selectRow(r.a1!, r.layers, r.heads, r.tokens, this.selection);
      l2 = selectRow(lambdaA2(r.a1!, r.a), r.layers, r.heads, r.tokens, this.selection);
    }
    const layers = this.selection.layer === 'all' ? Array.from({ length: info.layers }, (_, l) => l) : [this.selection.layer];
    let lambdas = info.lambdas.length ? layers.map((l) => info.lambdas[l]) : undefined;
    if (r?.lambda && perToken) {
      // λ varies per token and head: this token's, averaged over the selected heads of each selected layer.
      const head = typeof this.selection.head === 'number' ? this.selection.head : 'mean';
      lambdas = layers.map((l) => selectRow(r.lambda!, r.layers, r.heads, 1, { layer: l, head })[0]);
    }
    let twin: { model: string; where: string; weights: Float32Array } | undefined;
    const tm = this.models.twinOf(this.model);
    const ti = tm ? s.runs.get(tm) : undefined;
    if (this.compare && tm && ti) {
      // Head i of one twin is not head i of the other: a single head compares with the twin's mean over that layer's heads.
      const sel: HeadSelection = typeof this.selection.head === 'number' ? { layer: this.selection.layer, head: 'mean' } : this.selection;
      try {
        twin = { model: tm, where: describeSelection(sel), weights: await s.weights(tm, this.view, sel, this.direction, t) };
      } catch (e) {
        twin = undefined;
        this.log.info(`twin figures unavailable: ${message(e)}`);
      }
    }
    return hoverMarkdown({
      model: this.model,
      token: { index: t, label: labels[t] },
      where,
      viewLabel: viewInfo(this.view).label,
      direction: this.direction,
      weights: w,
      labels,
      a1,
      lambdaA2: l2,
      lambdas,
      lambdaPerToken: perToken,
      twin,
    });
  }

  // ------------------------------------------------------------------------------------------------- state changes

  private repaint(): void {
    this.updateStatus();
    void this.setContext();
    if (!this.session || this.session.stale) return;
    if (this.view === 'surprisal') void this.paint(0);
    else if (this.focus !== null) void this.paint(this.focus);
    else this.decorator.clear();
    this.pushPanel(true);
  }

  setSelection(sel: HeadSelection): void {
    this.selection = sel;
    this.repaint();
  }

  setView(v: ViewId): void {
    const wasSurprisal = this.view === 'surprisal';
    this.view = v;
    if (wasSurprisal && v !== 'surprisal') this.decorator.clear();
    this.repaint();
  }

  setDirection(d: Direction): void {
    this.direction = d;
    this.repaint();
  }

  setAggregation(a: Aggregation): void {
    this.aggregation = a;
    this.repaint();
  }

  setFollowCursor(on: boolean): void {
    this.followCursor = on;
    void this.setContext();
    this.updateStatus();
  }

  async setCompare(on: boolean): Promise<void> {
    const twin = on ? this.twin() : undefined; // no twin: refused before anything changes
    this.compare = on;
    if (twin && this.session && !this.session.stale) await this.ensureRun(twin);
    this.repaint();
  }

  async setModel(m: string, editor: vscode.TextEditor | undefined): Promise<void> {
    if (m === this.model) return;
    if (!this.models.has(m)) throw new Error(`unknown model "${m}"`);
    this.model = m;
    if (!this.models.twinOf(m)) this.compare = false;
    const s = this.session;
    if (s && !s.stale && editor?.document === s.doc) {
      const range = new vscode.Range(s.doc.positionAt(s.start), s.doc.positionAt(s.end));
      await this.analyze(editor, s.start === 0 && s.end === s.docLength ? undefined : range);
    } else this.repaint();
  }

  // ------------------------------------------------------------------------------------------------- measurement, export

  /** Mass from the query token (an extra cursor, else the window's last token) to the selection, for both twins. */
  async measureSelection(editor: vscode.TextEditor): Promise<MeasureReport> {
    const s = this.need();
    if (editor.document !== s.doc) throw new Error('the analyzed document is not the one in this editor');
    const sel = editor.selection;
    if (sel.isEmpty) throw new Error('select the span to measure (for example the answer stated earlier in the text), then run the command again');
    const a = s.doc.offsetAt(sel.start) - s.start;
    const b = s.doc.offsetAt(sel.end) - s.start;
    if (a < 0 || b > s.end - s.start) throw new Error(`the selection reaches outside the analyzed lines ${s.lines.first}–${s.lines.last}`);
    const first = tokenAt(s.spans, a);
    const last = tokenAt(s.spans, Math.max(a, b - 1)) + 1;
    const cursor = editor.selections.find((x) => x !== sel && x.isEmpty);
    const query = cursor ? tokenAt(s.spans, s.doc.offsetAt(cursor.active) - s.start) : s.tokens - 1;
    // With the twin when there is one: the comparison is the point of the measurement.
    const twin = this.models.twinOf(this.model);
    const models = twin ? [this.model, twin] : [this.model];
    const results: MeasureReport['results'] = [];
    for (const m of models) {
      await this.ensureRun(m);
      const r = await s.rows(m, query);
      results.push({ model: m, ...measureSpanMass(r, query, [first, last]) });
    }
    this.measure = { query, span: [first, last], results: results.map(({ model, selection, firstToken, rest }) => ({ model, selection, firstToken, rest })) };
    this.pushPanel(true);
    return this.measure;
  }

  /** The rows the export writes: the focused token's, else the last token's. */
  async exportRows(): Promise<{ session: Session; model: string; query: number; rows: Awaited<ReturnType<Session['rows']>> }> {
    const s = this.need();
    const query = this.focus ?? s.tokens - 1;
    return { session: s, model: this.model, query, rows: await s.rows(this.model, query) };
  }

  get current(): Session | undefined {
    return this.session;
  }

  // ------------------------------------------------------------------------------------------------- panel, status

  private schedulePanel(): void {
    // Focus changes arrive at pointer speed; the panel redraws at most ten times a second.
    if (this.panelTimer) return;
    this.panelTimer = setTimeout(() => {
      this.panelTimer = undefined;
      this.pushPanel(false);
    }, 100);
  }

  private pushPanel(now: boolean): void {
    if (now && this.panelTimer) {
      clearTimeout(this.panelTimer);
      this.panelTimer = undefined;
    }
    this.panel.updateView(this.panelState());
    this.stateEmitter.fire();
  }

  /** The side panel's state with each model's facts, for the explorer (null: nothing to draw). */
  explorerState(): ExplorerState | null {
    const p = this.panelState();
    const s = this.session;
    if (!p || !s || s.retired) return null;
    return { ...p, analyses: p.models.map((m) => s.runs.get(m)!), session: this.shown };
  }

  /**
   * Whether session number `n` (explorerState().session) is the one the side panel's analyses belong to, with an
   * analysis of `model`: false as soon as a newer analysis has started replacing them (the session is retired then),
   * or the text changed.
   */
  isLive(n: number, model: string): boolean {
    const s = this.session;
    return !!s && !s.stale && !s.retired && this.shown === n && s.runs.has(model);
  }

  /** Focuses token `t` of the analysis (a click in the explorer) and scrolls the editor to it without taking the keyboard. */
  focusToken(t: number): Promise<Float32Array | undefined> {
    const s = this.session;
    if (!s || s.stale || s.retired || t < 0 || t >= s.tokens) return Promise.resolve(undefined);
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === s.doc);
    if (editor) {
      const [a, b] = s.tokenRange(t);
      editor.revealRange(new vscode.Range(s.doc.positionAt(a), s.doc.positionAt(b)), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    return this.paint(t);
  }

  panelState(): PanelState | null {
    const s = this.session;
    if (!s || s.stale) return null;
    const name = s.doc.uri.scheme === 'untitled' ? s.doc.uri.path : s.doc.uri.path.split('/').pop() ?? s.doc.uri.toString();
    const cell = s.doc.uri.scheme === 'vscode-notebook-cell' ? ' (notebook cell)' : '';
    const models = [this.model, ...(this.compare ? [this.twin()] : [])].filter((m) => s.runs.has(m));
    return {
      source: `${name}${cell}, lines ${s.lines.first}–${s.lines.last} of ${s.lines.total}`,
      contextNote: s.trainedContext && s.tokens > s.trainedContext ? contextNote(this.model, s.trainedContext, s.tokens) : null,
      models,
      labels: s.labels,
      layer: this.selection.layer,
      head: this.selection.head,
      viewLabel: viewInfo(this.view).label + (this.aggregation === 'token' ? '' : ` · summed by ${this.aggregation}`),
      direction: this.direction,
      focus: this.focus,
      measure: this.measure,
    };
  }

  private updateStatus(): void {
    const s = this.session;
    const info = s?.runs.get(this.model);
    this.status.setInspector(
      s && info
        ? {
            model: this.model,
            tokens: s.tokens,
            lines: `lines ${s.lines.first}–${s.lines.last} of ${s.lines.total}`,
            stale: s.stale,
            detail: `${describeSelection(this.selection)} · ${viewInfo(this.view).label} · ${this.direction === 'attendsTo' ? 'attends to' : 'attended by'} · ${this.aggregation}${this.compare ? ` · comparing with ${this.models.twinOf(this.model)}` : ''}${this.followCursor ? ' · following the cursor' : ''}`,
          }
        : undefined,
    );
  }

  private warn(e: unknown): void {
    const m = message(e);
    this.log.warn(m);
    if (this.warned.has(m)) return;
    this.warned.add(m);
    setTimeout(() => this.warned.delete(m), 10_000);
    void vscode.window.showWarningMessage(`Attention Inspector: ${m}`);
  }

  private running = 0;

  /**
   * Model runs: the status bar item spins while any runs, and a cancellable notification appears only when the run
   * takes longer than half a second.
   */
  private async withProgress<T>(title: string, status: string, work: Promise<T>, onCancel: () => void): Promise<T> {
    this.running++;
    this.status.setAnalyzing(status);
    const timer = setTimeout(() => {
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (p, token) => {
        token.onCancellationRequested(onCancel);
        this.progressSink = p;
        return work.catch(() => undefined).finally(() => {
          if (this.progressSink === p) this.progressSink = undefined;
        });
      });
    }, 500);
    try {
      return await work;
    } finally {
      clearTimeout(timer);
      if (--this.running === 0) this.status.setAnalyzing(undefined);
    }
  }

  private progressSink: vscode.Progress<{ message?: string; increment?: number }> | undefined;

  /** A long analysis runs in chunks: its share done shows in the status bar and the notification. */
  private reportProgress(status: string, done: number, total: number): void {
    const pct = Math.floor((100 * done) / Math.max(1, total));
    this.status.setAnalyzing(`${status}: ${pct}%`);
    this.progressSink?.report({ message: `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} tokens run (${pct}%)` });
  }

  /** Resolves when the latest analysis has finished (tests). */
  settled(): Promise<unknown> {
    return this.lastAnalysis;
  }

  dispose(): void {
    clearTimeout(this.reanalyzeTimer);
    clearTimeout(this.panelTimer);
    this.subs.forEach((d) => d.dispose());
    this.decorator.dispose();
  }
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function countBinary(text: string): number {
  let n = 0;
  const len = Math.min(text.length, 1 << 16);
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || c === 0xfffd) n++;
  }
  return (n * text.length) / len;
}

