/**
 * The explorer's page: the selected head's map large (both twins side by side when comparing, one colour scale, their
 * zoom and pan linked), the legend with its numbers, the focused token's row as DIFF's decomposition strips, the
 * Measure Attention To Selection masses as bars, and the model view (every head as a thumbnail). It holds no analysis:
 * every number comes from the side panel through the host (ExplorerApi), and answers for an older state are dropped.
 */
import type { AnalysisInfo, AnalysisQuery, ExplorerState, RowsPayload, TensorPayload, ToHost } from '../../src/core/protocol';
import { LEVELS, maxAbsExcept } from '../../src/core/colorScale';
import { MAX_MAP_CELLS } from '../../src/core/protocol';
import { WHAT_IF_VIEWS } from '../engine/kernels/whatIf.cpu';
import { THUMB_CELLS } from '../views/headGrid';
import { readPalette } from '../views/palette';
import { MapView } from './mapView';
import { ModelGrid } from './modelGrid';
import { levelEdges } from './raster';
import { Strips, type Strip } from './strips';
import { el } from '../views/dom';

export interface ExplorerApi {
  query(session: number, model: string, q: AnalysisQuery): Promise<TensorPayload>;
  rows(session: number, model: string, query: number): Promise<RowsPayload>;
  send(m: ToHost): void;
}


interface Pane {
  model: string;
  info: AnalysisInfo;
  map: MapView;
  mapTitle: HTMLElement;
  strips: Strips;
  stripTitle: HTMLElement;
  grid: ModelGrid;
}

type Selection = { layer: number; head: number | 'mean' };

export class ExplorerView {
  private state: ExplorerState | null = null;
  private labels: string[] = [];
  private built = '';
  private panes: Pane[] = [];
  private sel: Selection = { layer: 0, head: 0 };
  private readonly header = el('header', { class: 'explorer-header', 'data-testid': 'explorer-header' });
  private readonly controls = el('div', { class: 'controls' });
  private readonly legend = el('div', { class: 'legend', 'data-testid': 'legend' });
  private readonly maps = el('section', { class: 'maps', 'aria-label': 'attention maps' });
  private readonly decomposition = el('section', { class: 'decomposition', 'aria-label': 'the focused token’s row' });
  private readonly masses = el('section', { class: 'masses', 'data-testid': 'masses' });
  private readonly modelView = el('section', { class: 'model-view', 'aria-label': 'every layer and head' });
  private drawnMaps = '';
  /** The inspector's head choice last adopted. */
  private hostSel = '';
  private drawnStrips = '';
  private stripTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    root: HTMLElement,
    private readonly api: ExplorerApi,
  ) {
    root.replaceChildren(this.header, this.controls, this.maps, this.legend, this.decomposition, this.masses, this.modelView);
    this.update(null);
    new MutationObserver(() => this.restyle()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    window.addEventListener('resize', () => {
      for (const p of this.panes) {
        p.map.draw();
        p.strips.draw();
      }
    });
  }

  private restyle(): void {
    for (const p of this.panes) {
      p.map.restyle();
      p.strips.draw();
      p.grid.redraw();
    }
    this.drawLegend(this.legendMax);
  }

  update(update: (Omit<ExplorerState, 'labels'> & { labels?: string[] }) | null): void {
    if (update?.labels) this.labels = update.labels;
    const s: ExplorerState | null = update ? { ...update, labels: this.labels } : null;
    this.state = s;
    if (!s) {
      this.built = '';
      this.panes = [];
      this.header.replaceChildren(el('p', { class: 'muted', 'data-testid': 'explorer-empty' }, 'Nothing is analyzed, or the text changed since. Run "Attention Inspector: Analyze Document" (Ctrl+Shift+\' or ⌘⇧\' on macOS) in an editor; this explorer follows it.'));
      for (const e of [this.controls, this.maps, this.legend, this.decomposition, this.masses, this.modelView]) e.replaceChildren();
      return;
    }
    const key = `${s.session}|${s.models.join(',')}`;
    if (key !== this.built) this.build(s, key);
    // The inspector's head choice becomes the explorer's when it changes (a choice made here stays until then); a
    // reduction over all layers leaves the explorer's own, and one over a layer's heads shows their mean.
    const hostSel = `${s.layer}/${s.head}`;
    if (hostSel !== this.hostSel) {
      this.hostSel = hostSel;
      if (typeof s.layer === 'number') {
        this.sel = { layer: s.layer, head: typeof s.head === 'number' ? s.head : 'mean' };
        this.syncControls();
      }
    }
    this.renderHeader(s);
    this.renderMasses(s);
    for (const p of this.panes) {
      p.map.setFocus(s.focus);
      p.grid.select(this.sel.layer, this.headFor(p.info));
    }
    void this.drawMaps();
    this.scheduleStrips();
  }

  private headFor(info: AnalysisInfo): number | 'mean' {
    return typeof this.sel.head === 'number' && this.sel.head < info.heads ? this.sel.head : 'mean';
  }

  private renderHeader(s: ExplorerState): void {
    const focus = s.focus === null ? 'none: hover a token in the editor, or click a row here' : `#${s.focus} ${JSON.stringify(s.labels[s.focus] ?? '')}`;
    this.header.replaceChildren(
      el('h2', {}, 'Attention Explorer'),
      el('div', { class: 'facts' },
        el('span', { 'data-testid': 'explorer-source' }, s.source),
        el('span', { class: 'muted' }, ` · ${s.labels.length} tokens · `),
        el('span', { 'data-testid': 'explorer-models' }, s.analyses.map((a) => `${a.model} (${a.attention}, ${a.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'})`).join(' and ')),
        el('span', { class: 'muted' }, ' · focus '),
        el('span', { 'data-testid': 'explorer-focus' }, focus),
      ),
    );
  }

  private build(s: ExplorerState, key: string): void {
    this.built = key;
    this.drawnMaps = '';
    this.drawnStrips = '';
    this.rowCache.clear();
    this.hostSel = '';
    const first = s.analyses[0];
    if (this.sel.layer >= first.layers) this.sel = { layer: 0, head: 0 };
    // Controls: the layer and the head (or the mean of the layer's heads), for the keyboard as much as the mouse.
    const layerSel = el('select', { 'aria-label': 'Layer', 'data-testid': 'explorer-layer' }, ...Array.from({ length: first.layers }, (_, l) => el('option', { value: String(l) }, `Layer ${l}`)));
    const headSel = el('select', { 'aria-label': 'Head', 'data-testid': 'explorer-head' }, ...Array.from({ length: first.heads }, (_, h) => el('option', { value: String(h) }, `Head ${h}`)), el('option', { value: 'mean' }, 'Mean of the layer’s heads'));
    const sync = () => {
      layerSel.value = String(this.sel.layer);
      headSel.value = String(this.sel.head);
    };
    const choose = () => {
      const layer = Number(layerSel.value);
      const head = headSel.value === 'mean' ? 'mean' : Number(headSel.value);
      this.choose(layer, head);
    };
    layerSel.addEventListener('change', choose);
    headSel.addEventListener('change', choose);
    this.syncControls = sync;
    this.controls.replaceChildren(el('label', {}, 'Layer ', layerSel), el('label', {}, 'Head ', headSel), el('span', { class: 'muted' }, 'Ctrl+wheel or + − 0 zoom · drag or wheel pans · click a row (or Enter) to focus its token in the editor'));
    sync();

    this.panes = s.analyses.map((info, i) => {
      const model = info.model;
      const map = new MapView(`explorer-map-${model}`, { focus: (t) => this.focus(t), detail: (q, k) => this.detail(info, q, k) });
      const strips = new Strips(`explorer-strips-${model}`, (t) => this.focus(t));
      const grid = new ModelGrid(`explorer-grid-${model}`, info.layers, info.heads, info.attention !== 'softmax', (l, h) => {
        if (i === 0) this.choose(l, h);
        else this.choose(l, h < first.heads ? h : 'mean');
      });
      return { model, info, map, mapTitle: el('h3', {}), strips, stripTitle: el('h3', {}), grid };
    });
    const linked = this.panes.map((p) => p.map);
    for (const m of linked) m.link(linked);
    this.maps.className = this.panes.length > 1 ? 'maps twins' : 'maps';
    this.maps.replaceChildren(...this.panes.map((p) => el('div', { class: 'pane', 'data-model': p.model }, p.mapTitle, p.map.root)));
    this.decomposition.replaceChildren(...this.panes.map((p) => el('div', { class: 'pane' }, p.stripTitle, p.strips.root)));
    this.modelView.replaceChildren(
      el('h3', {}, 'Every layer and head'),
      el('p', { class: 'muted' }, 'Badges: H, mean row entropy (nats; of A1 for DIFF); neg, mean negative mass per row (DIFF); 1st, mean weight on the first token. Click a head to open it above.'),
      el('div', { class: 'grids' }, ...this.panes.map((p) => el('div', { class: 'pane' }, el('h4', {}, p.model), p.grid.root))),
    );
    void this.thumbnails(key);
  }

  private syncControls: () => void = () => undefined;

  private choose(layer: number, head: number | 'mean'): void {
    this.sel = { layer, head };
    this.syncControls();
    // A single head of the chosen model is the inspector's choice too, so the editor's tints follow.
    if (typeof head === 'number' && head < (this.panes[0]?.info.heads ?? 0)) this.api.send({ method: 'ui/selectHead', layer, head });
    for (const p of this.panes) p.grid.select(layer, this.headFor(p.info));
    void this.drawMaps();
    this.scheduleStrips(0);
  }

  private focus(token: number): void {
    this.api.send({ method: 'ui/focusToken', token });
  }

  private legendMax = 0;

  private async drawMaps(): Promise<void> {
    const s = this.state;
    if (!s) return;
    const key = `${this.built}|${this.sel.layer}/${this.sel.head}`;
    if (key === this.drawnMaps) return;
    this.drawnMaps = key;
    const T = s.labels.length;
    const cells = Math.min(T, MAX_MAP_CELLS);
    const session = s.session;
    try {
      const maps = await Promise.all(
        this.panes.map((p) => {
          const head = this.headFor(p.info);
          const q = head === 'mean' ? { kind: 'meanMap' as const, layer: this.sel.layer, maxCells: cells } : { kind: 'map' as const, layer: this.sel.layer, head, maxCells: cells };
          return this.api.query(session, p.model, q);
        }),
      );
      if (key !== this.drawnMaps) return;
      this.maps.querySelector(':scope > .error')?.remove();
      // One colour scale for the twins: the same colour is the same weight in both maps.
      const max = Math.max(...maps.map((m) => maxAbsExcept(m.data))) || 1;
      this.legendMax = max;
      this.panes.forEach((p, i) => {
        const head = this.headFor(p.info);
        const what = head === 'mean' ? `mean of layer ${this.sel.layer}'s ${p.info.heads} heads` : `layer ${this.sel.layer} · head ${head}`;
        const note = typeof this.sel.head === 'number' && head === 'mean' ? ` (it has no head ${this.sel.head})` : '';
        p.mapTitle.textContent = `${p.model}: ${what}${note}${p.info.attention === 'softmax' ? '' : ' · A1 − λ·A2'}`;
        p.map.set({ cells: maps[i].dims[0], tokens: T, data: maps[i].data, labels: s.labels, title: `${p.model} ${what}`, maxAbs: max });
        p.map.setFocus(this.state?.focus ?? null);
      });
      this.drawLegend(max);
    } catch (e) {
      if (key === this.drawnMaps) {
        this.drawnMaps = '';
        this.maps.querySelector(':scope > .error')?.remove();
        this.maps.append(el('p', { class: 'error', 'data-testid': 'explorer-error' }, `The map could not be drawn: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
  }

  private drawLegend(max: number): void {
    if (!(max > 0)) return this.legend.replaceChildren();
    const p = readPalette();
    const edges = levelEdges(max);
    const fmt = (v: number) => (v >= 0.01 ? v.toFixed(3) : v.toExponential(1));
    // The level's own colour (not colourOf(edge), which rounding can put one level up).
    const swatch = (colour: string, text: string) => {
      const i = el('i', { 'aria-hidden': 'true' });
      i.style.background = colour;
      return el('span', { class: 'swatch' }, i, text);
    };
    const neg = Array.from({ length: LEVELS }, (_, k) => LEVELS - k).map((l) => swatch(p.negative[l - 1], `−${fmt(edges[l])}`));
    const pos = Array.from({ length: LEVELS }, (_, k) => k + 1).map((l) => swatch(p.positive[l - 1], fmt(edges[l])));
    this.legend.replaceChildren(
      el('span', { class: 'muted' }, 'weight (upper edge of each step; square-root steps of the largest |weight| shown): '),
      ...neg,
      el('span', { class: 'swatch zero', title: `|weight| under ${fmt(max / 400)} (1/400 of the largest) is not tinted` }, `|w| < ${fmt(max / 400)}`),
      ...pos,
    );
  }

  private scheduleStrips(delay = 80): void {
    clearTimeout(this.stripTimer);
    this.stripTimer = setTimeout(() => void this.drawStrips(), delay);
  }

  private async drawStrips(): Promise<void> {
    const s = this.state;
    if (!s || !this.panes.length) return;
    const T = s.labels.length;
    const q = s.focus ?? T - 1;
    const key = `${this.built}|${this.sel.layer}/${this.sel.head}|${q}`;
    if (key === this.drawnStrips) return;
    this.drawnStrips = key;
    for (const p of this.panes) {
      try {
        const head = this.headFor(p.info);
        const rows = await this.api.rows(s.session, p.model, q);
        // The what-if views exist for DIFF's two maps, one head at a time.
        const what = head === 'mean' || p.info.attention === 'softmax' ? null : await this.api.query(s.session, p.model, { kind: 'whatIf', layer: this.sel.layer, head, query: q }).catch(() => null);
        if (key !== this.drawnStrips) return;
        const { strips, lambda } = decompose(p.info, rows, this.sel.layer, head, what);
        const who = head === 'mean' ? `mean of layer ${this.sel.layer}'s heads` : `layer ${this.sel.layer} head ${head}`;
        p.stripTitle.textContent = `${p.model}: query #${q} ${JSON.stringify(s.labels[q] ?? '')}, ${who}${lambda === undefined ? '' : ` · λ = ${lambda.toFixed(3)}${p.info.attention === 'diff-v2' ? ' (this token’s, DIFF V2)' : ` (layer ${this.sel.layer})`}`}`;
        p.strips.set(strips, s.labels, q);
      } catch (e) {
        if (key !== this.drawnStrips) return;
        this.drawnStrips = ''; // asked again at the next state
        p.stripTitle.textContent = `${p.model}: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
  }

  /** The last few query rows the tooltip read, most recent last (a row is every layer × head × key, three times). */
  private readonly rowCache = new Map<string, Promise<RowsPayload>>();

  /** A1 and λ·A2 of a cell, for the map's tooltip (the map asks once the pointer rests on a cell). */
  private async detail(info: AnalysisInfo, q: number, k: number): Promise<string | undefined> {
    const s = this.state;
    if (!s || info.attention === 'softmax') return undefined;
    const key = `${s.session}|${info.model}|${q}`;
    let r = this.rowCache.get(key);
    if (r) this.rowCache.delete(key);
    else {
      r = this.api.rows(s.session, info.model, q);
      r.catch(() => this.rowCache.delete(key));
    }
    this.rowCache.set(key, r);
    while (this.rowCache.size > 8) this.rowCache.delete(this.rowCache.keys().next().value!);
    const rows = await r;
    const head = this.headFor(info);
    const { strips } = decompose(info, rows, this.sel.layer, head, null);
    return strips.filter((x) => x.id !== 'a').map((x) => `${x.name} ${x.values[k].toFixed(4)}`).join(' · ');
  }

  private renderMasses(s: ExplorerState): void {
    const m = s.measure;
    if (!m) return this.masses.replaceChildren();
    const max = Math.max(1e-9, ...m.results.flatMap((r) => [r.selection, r.rest, r.firstToken]));
    const bar = (v: number, cls: string) => {
      const i = el('i', { class: cls, 'aria-hidden': 'true' });
      i.style.width = `${Math.max(0, (v / max) * 100).toFixed(1)}%`;
      return el('span', { class: 'bar' }, i);
    };
    const rows = m.results.flatMap((r) => [
      el('span', { class: 'who' }, r.model),
      ...([['answer (selection)', r.selection, 'answer'], ['noise (rest of context)', r.rest, 'noise'], ['first token', r.firstToken, 'first']] as const).flatMap(([name, v, cls]) => [
        el('span', { class: 'muted' }, name),
        bar(v, cls),
        el('span', { class: 'num', 'data-testid': `mass-${r.model}-${cls}` }, v.toFixed(3)),
      ]),
    ]);
    this.masses.replaceChildren(
      el('h3', {}, 'Attention to the selection'),
      el('p', { class: 'muted' }, `Query #${m.query} ${JSON.stringify(s.labels[m.query] ?? '')} → tokens ${m.span[0]}–${m.span[1] - 1}: each row divided by its sum (1 − λ for DIFF), averaged over every layer and head (Measure Attention To Selection).`),
      el('div', { class: 'mass-chart' }, ...rows),
    );
  }

  private async thumbnails(key: string): Promise<void> {
    const s = this.state;
    if (!s) return;
    for (const p of this.panes) {
      for (let l = 0; l < p.info.layers; l++) {
        try {
          const st = await this.api.query(s.session, p.model, { kind: 'stats', layer: l });
          if (this.built !== key) return;
          const H = st.dims[0];
          p.grid.setBadges(l, Array.from({ length: H }, (_, h) => ({ entropy: st.data[h * 6], negativeMass: st.data[h * 6 + 2], firstTokenMass: st.data[h * 6 + 4] })));
          for (let h = 0; h < p.info.heads; h++) {
            const m = await this.api.query(s.session, p.model, { kind: 'map', layer: l, head: h, maxCells: Math.min(THUMB_CELLS, s.labels.length) });
            if (this.built !== key) return;
            p.grid.setThumb(l, h, m.data);
          }
        } catch {
          return; // a newer analysis replaced this one; its build draws again
        }
      }
    }
  }
}

/**
 * The strips of one query row for a head (or the mean of a layer's heads): what the model used, and for DIFF its two
 * maps with λ; then the what-if views of the same logits when they were computed (one head only).
 */
export function decompose(info: AnalysisInfo, r: RowsPayload, layer: number, head: number | 'mean', whatIf: TensorPayload | null): { strips: Strip[]; lambda?: number } {
  const T = r.tokens;
  const H = r.heads;
  const heads = head === 'mean' ? Array.from({ length: H }, (_, h) => h) : [head];
  const mean = (src: Float32Array, scale: (h: number) => number = () => 1) => {
    const out = new Float32Array(T);
    for (const h of heads) {
      const o = (layer * H + h) * T;
      const f = scale(h) / heads.length;
      for (let k = 0; k < T; k++) out[k] += src[o + k] * f;
    }
    return out;
  };
  const lambdaOf = (h: number) => (r.lambda ? r.lambda[layer * H + h] : info.lambdas[layer]);
  const a = mean(r.a);
  if (!r.a1 || !r.a2) return { strips: [{ id: 'a', name: 'A', title: 'softmax attention: what the model used', values: a }] };
  const lambda = heads.reduce((s, h) => s + lambdaOf(h), 0) / heads.length;
  const strips: Strip[] = [
    { id: 'a1', name: 'A1', title: 'the first softmax map, softmax(s·Q1K1ᵀ)', values: mean(r.a1) },
    { id: 'la2', name: 'λ·A2', title: 'the second softmax map times λ: what is subtracted', values: mean(r.a2, lambdaOf) },
    { id: 'a', name: 'A1 − λ·A2', title: 'what the model used: the difference (rows sum to 1 − λ; weights can be negative)', values: a },
  ];
  if (whatIf) {
    const n = whatIf.dims[0];
    WHAT_IF_VIEWS.forEach((v, i) => {
      if (i === 0 || i >= n) return; // the first is A1 − λ·A2 itself
      strips.push({ id: `whatif-${v.id}`, name: `what-if: ${v.label.replace(/ — what-if view$/, '')}`, title: `${v.label}: computed from the same logits for comparison, not what the model used (on its own colour scale)`, values: whatIf.data.slice(i * T, (i + 1) * T), view: true });
    });
  }
  return { strips, lambda };
}
