/**
 * The inspector part of the panel: for each analyzed model (the chosen one, then its twin when comparing) a column
 * with timings, λ per layer, the layer × head grid, the selected head's heatmap and the statistics of the selected
 * layer's heads; above them the Measure Attention To Selection table. The host owns the state and sends it after
 * every change (labels once per analysis); this view draws it from the webview's own analyses and sends head clicks
 * back.
 */
import type { AnalysisController } from '../analysisController';
import type { PanelState, PanelUpdate, PngExport, ToHost } from '../../src/core/protocol';
import { describeSelection } from '../../src/core/views';
import { HeadGrid, THUMB_CELLS } from './headGrid';
import { Heatmap } from './heatmap';
import { el } from './dom';

const HEATMAP_CELLS = 512;
const QUIET_MS = 120;

interface Column {
  model: string;
  root: HTMLElement;
  grid: HeadGrid;
  heatmap: Heatmap;
  heatTitle: HTMLElement;
  stats: HTMLElement;
  /** The head this column's heatmap shows (the twin's own choice; the chosen model follows the host). */
  head: { layer: number; head: number };
  drawn: { heat?: string; stats?: number };
}

export class InspectorView {
  private state: PanelState | null = null;
  private labels: string[] = [];
  private columns: Column[] = [];
  private builtFor = '';
  private readonly header = el('div', { class: 'inspector-header', 'data-testid': 'inspector-header' });
  private readonly measure = el('section', { class: 'measure', 'data-testid': 'measure' });
  private readonly body = el('div', { class: 'columns' });
  /** Made once: the header is redrawn up to ten times a second, and a rebuilt button would lose the keyboard focus. */
  private readonly openExplorer = el('button', { class: 'primary', 'data-testid': 'open-explorer', title: 'The selected head large, with labelled axes, DIFF’s decomposition and the twins side by side' }, 'Open Explorer');
  private readonly titleRow = el('div', { class: 'title-row' }, el('h2', {}, 'Attention'), this.openExplorer);
  private readonly facts = el('div', {});

  constructor(
    readonly root: HTMLElement,
    private readonly analyses: AnalysisController,
    private readonly send: (m: ToHost) => void,
    /** Milliseconds since the host last asked for something: the panel's own drawing waits for a quiet moment. */
    private readonly sinceHostRequest: () => number,
  ) {
    root.append(this.header, this.measure, this.body);
    this.openExplorer.addEventListener('click', () => this.send({ method: 'ui/openExplorer' }));
    this.update(null);
    // Theme changes restyle the CSS variables; redraw the canvases with the new colours.
    new MutationObserver(() => this.redrawAll()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    window.addEventListener('resize', () => this.redrawAll());
  }

  private redrawAll(): void {
    for (const c of this.columns) {
      c.grid.draw();
      c.heatmap.show(undefined);
      c.drawn.heat = undefined;
    }
    void this.refresh();
  }

  update(update: PanelUpdate | null): void {
    // Labels come only with a new analysis's first state: later states reuse them.
    if (update?.labels) this.labels = update.labels;
    const state: PanelState | null = update ? { ...update, labels: this.labels } : null;
    this.state = state;
    if (!state || state.models.length === 0 || !state.models.every((m) => this.analyses.info(m))) {
      this.columns = [];
      this.builtFor = '';
      this.header.replaceChildren(
        el('p', { class: 'muted', 'data-testid': 'inspector-empty' }, state ? 'Analyzing…' : 'Open a file and run "Attention Inspector: Analyze Document" (Ctrl+Shift+\' or ⌘⇧\' on macOS), then hover a token.'),
      );
      this.measure.replaceChildren();
      this.body.replaceChildren();
      return;
    }
    const key = `${this.analyses.generation}|${state.models.join(',')}`;
    if (key !== this.builtFor) this.build(state, key);
    this.renderHeader(state);
    this.renderMeasure(state);
    void this.refresh();
  }

  private renderHeader(s: PanelState): void {
    const focus = s.focus === null ? 'none (hover a token or move the cursor)' : `#${s.focus} ${JSON.stringify(s.labels[s.focus] ?? '')}`;
    // The title row stays in place (its button keeps the keyboard focus); only the facts are redrawn.
    if (this.header.firstChild !== this.titleRow) this.header.replaceChildren(this.titleRow, this.facts);
    this.facts.replaceChildren(
      el('table', { class: 'facts' },
        el('tr', {}, el('th', {}, 'Text'), el('td', { 'data-testid': 'source' }, s.source)),
        el('tr', {}, el('th', {}, 'Tokens'), el('td', { 'data-testid': 'tokens' }, String(s.labels.length), ...(s.contextNote ? [el('div', { class: 'note', 'data-testid': 'context-note', role: 'note' }, s.contextNote)] : []))),
        el('tr', {}, el('th', {}, 'View'), el('td', { 'data-testid': 'view' }, `${s.viewLabel} · ${s.direction === 'attendsTo' ? 'attends to' : 'attended by'}`)),
        el('tr', {}, el('th', {}, 'Heads'), el('td', { 'data-testid': 'selection' }, describeSelection({ layer: s.layer, head: s.head }))),
        el('tr', {}, el('th', {}, 'Focus'), el('td', { 'data-testid': 'focus' }, focus)),
      ),
    );
  }

  private renderMeasure(s: PanelState): void {
    const m = s.measure;
    if (!m) return this.measure.replaceChildren();
    const fmt = (v: number) => v.toFixed(3);
    const t = el('table', { class: 'stats' }, el('tr', {}, el('th', {}, 'model'), el('th', {}, 'selection'), el('th', {}, 'first token'), el('th', {}, 'rest of context')));
    for (const r of m.results) {
      t.append(el('tr', { 'data-testid': `measure-${r.model}` }, el('td', {}, r.model), el('td', {}, fmt(r.selection)), el('td', {}, fmt(r.firstToken)), el('td', {}, fmt(r.rest))));
    }
    this.measure.replaceChildren(
      el('h3', {}, 'Attention to the selection'),
      el('p', { class: 'muted' }, `Query token #${m.query} ${JSON.stringify(s.labels[m.query] ?? '')} → tokens ${m.span[0]}–${m.span[1] - 1}; each row divided by its sum (1 − λ for DIFF), averaged over all heads and layers.`),
      t,
    );
  }

  private build(s: PanelState, key: string): void {
    this.builtFor = key;
    this.columns = s.models.map((model, i) => {
      const info = this.analyses.info(model)!;
      const grid = new HeadGrid(`grid-${model}`, (layer, head) => {
        if (i === 0) this.send({ method: 'ui/selectHead', layer, head });
        else {
          col.head = { layer, head };
          col.grid.select(layer, head);
          void this.refresh();
        }
      });
      grid.reset(info.layers, info.heads);
      const heatmap = new Heatmap(`heatmap-${model}`);
      const heatTitle = el('h4', {});
      const stats = el('div', { 'data-testid': `stats-${model}` });
      const bar = (v: number) => {
        const b = el('i', { 'aria-hidden': 'true' });
        b.style.width = `${Math.round(Math.max(0, Math.min(1, v)) * 40)}px`; // CSSOM: the CSP forbids style attributes
        return b;
      };
      const lambdas = info.lambdas.length
        ? el('div', { class: 'lambdas', 'data-testid': `lambda-${model}` }, ...(info.attention === 'diff-v2' ? [el('span', { class: 'muted' }, 'mean λ (per token and head in DIFF V2): ')] : []), ...info.lambdas.map((v, l) => el('span', { class: 'lambda', title: info.attention === 'diff-v2' ? `λ of layer ${l}, mean over heads and tokens (DIFF V2 computes λ = σ(W_λ x) per token and head)` : `λ of layer ${l}` }, `L${l} `, el('b', {}, v.toFixed(3)), bar(v))))
        : el('div', { class: 'muted', 'data-testid': `lambda-${model}` }, 'softmax attention: no λ');
      const root = el('section', { class: 'model', 'data-model': model },
        el('h3', {}, `${model} `, el('span', { class: 'muted' }, i === 0 ? '(chosen)' : '(twin)')),
        el('div', { class: 'muted', 'data-testid': `timing-${model}` }, `${info.tokens} tokens · forward ${info.runMs.toFixed(0)} ms on ${info.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'}`),
        ...(info.readFrom === 'probs'
          ? [el('div', { class: 'note', 'data-testid': `readfrom-${model}` }, `Attention read from the graph's softmax outputs: its Q and K do not reproduce them. Full maps limit inputs to ${info.tokenLimit} tokens; no what-if views.`)]
          : []),
        el('div', { class: 'label' }, 'λ per layer'),
        lambdas,
        el('div', { class: 'label' }, 'Layer × head (click or arrows + Enter)'),
        grid.canvas,
        // A summary here; the explorer shows the map large. The small map stays for a glance and for Export → PNG.
        el('details', { class: 'head-details', 'data-testid': `details-${model}` },
          el('summary', {}, 'Selected head: map and statistics'),
          heatTitle,
          heatmap.root,
          el('div', { class: 'label' }, 'Head statistics'),
          stats,
        ),
      );
      const col: Column = { model, root, grid, heatmap, heatTitle, stats, head: { layer: 0, head: 0 }, drawn: {} };
      return col;
    });
    this.body.replaceChildren(...this.columns.map((c) => c.root));
    void this.thumbnails(key);
  }

  private async thumbnails(key: string): Promise<void> {
    for (const c of this.columns) {
      const a = this.analyses.analysis(c.model);
      const info = this.analyses.info(c.model);
      if (!a || !info) return;
      for (let l = 0; l < info.layers; l++)
        for (let h = 0; h < info.heads; h++) {
          await this.idle();
          if (this.builtFor !== key) return;
          try {
            c.grid.setThumb(l, h, (await a.map(l, h, THUMB_CELLS)).data);
          } catch {
            return; // replaced mid-way; the next build draws again
          }
        }
    }
  }

  private refreshing = false;
  private refreshAgain = false;

  /** Redraws what the selection and focus changed. One redraw at a time; updates meanwhile fold into one more. */
  private async refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.refreshAgain = false;
        await this.redraw();
      } while (this.refreshAgain);
    } finally {
      this.refreshing = false;
    }
  }

  /** Grid marks, heatmaps, statistics. */
  private async redraw(): Promise<void> {
    const s = this.state;
    if (!s) return;
    const key = this.builtFor;
    for (const [i, c] of this.columns.entries()) {
      const info = this.analyses.info(c.model);
      const a = this.analyses.analysis(c.model);
      if (!info || !a) continue;
      if (i === 0) {
        c.head = { layer: typeof s.layer === 'number' ? s.layer : c.head.layer, head: typeof s.head === 'number' ? s.head : c.head.head };
        c.grid.select(s.layer, s.head);
      } else if (!c.drawn.heat) c.grid.select(c.head.layer, c.head.head);
      const { layer, head } = c.head;
      const heatKey = `${layer}/${head}`;
      const note = i === 0 && typeof s.head !== 'number' ? ' (heatmaps are per head; the highlights use the reduction)' : '';
      c.heatTitle.textContent = `Layer ${layer} · head ${head}${note}`;
      try {
        if (c.drawn.heat !== heatKey) {
          await this.idle();
          if (this.builtFor !== key) return;
          const m = await a.map(layer, head, HEATMAP_CELLS);
          if (this.builtFor !== key) return;
          c.heatmap.show({ cells: m.cells, tokens: info.tokens, data: m.data, labels: s.labels, title: `${c.model} layer ${layer} head ${head}`, focus: this.state?.focus ?? null });
          c.drawn.heat = heatKey;
        } else c.heatmap.setFocus(s.focus);
        if (c.drawn.stats !== layer) {
          c.drawn.stats = layer;
          c.stats.replaceChildren(el('p', { class: 'muted' }, `Computing layer ${layer}…`));
          await this.idle();
          if (this.builtFor !== key) return;
          const st = await a.stats(layer);
          if (this.builtFor !== key) return;
          c.stats.replaceChildren(statsTable(layer, st, info.lambdas[layer]));
        }
      } catch (e) {
        if (this.builtFor === key) c.stats.replaceChildren(el('p', { class: 'error' }, e instanceof Error ? e.message : String(e)));
      }
    }
  }

  /** Resolves once the host has been quiet for a moment, so its requests (hovers) go before the panel's drawing. */
  private async idle(): Promise<void> {
    do await new Promise((r) => setTimeout(r, 30));
    while (this.sinceHostRequest() < QUIET_MS);
  }

  exportPng(): PngExport {
    const c = this.columns[0];
    if (!c) throw new Error('no heatmap is drawn: analyze a document first');
    return c.heatmap.png();
  }
}

function statsTable(layer: number, st: { entropyA1: number; entropyA2: number; negativeMass: number; smallShare: number; firstTokenMass: number }[], lambda: number | undefined): HTMLElement {
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '—');
  const diff = lambda !== undefined;
  const t = el('table', { class: 'stats' },
    el('tr', {}, el('th', {}, `L${layer}`), el('th', { title: 'mean row entropy of A1 (nats)' }, diff ? 'H(A1)' : 'H(A)'), el('th', { title: 'mean row entropy of A2 (nats)' }, 'H(A2)'),
      el('th', { title: 'mean Σ max(0, −a) per row' }, 'neg. mass'), el('th', { title: 'share of causal entries with |a| < 1e-3' }, '|a|<1e-3'), el('th', { title: 'mean weight on the first token' }, 'first tok.')));
  st.forEach((s, h) => t.append(el('tr', {}, el('td', {}, `h${h}`), el('td', {}, f(s.entropyA1)), el('td', {}, diff ? f(s.entropyA2) : '—'), el('td', {}, f(s.negativeMass)), el('td', {}, f(s.smallShare)), el('td', {}, f(s.firstTokenMass)))));
  return t;
}
