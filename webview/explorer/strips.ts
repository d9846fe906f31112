/**
 * One query's row as aligned strips over the same keys: for DIFF, A1, λ·A2 and A1 − λ·A2 (what the model used), so a
 * reader sees where the second map cancels the first, where the difference goes negative and where it is exactly
 * zero; below them the what-if functions of the same logits, labelled as views. The model's strips share one colour
 * scale (the editor's tint levels); each view has its own (their ranges differ: the fixed shift spans −1..1); exact
 * zeros are marked with a dot, negative weights are cool. Each strip's name says
 * how many keys are negative and how many exactly zero. Hover a key for its values, click it to focus its token.
 */
import { colourOf, labelFont, readPalette } from '../views/palette';

export interface Strip {
  id: string;
  name: string;
  /** Longer words for the tooltip of the name. */
  title: string;
  values: Float32Array;
  /** What-if views are drawn apart from what the model computed. */
  view?: boolean;
}

const ROW = 20;
const LABEL_ROW = 16;
const MAX_CANVAS = 16_000;

export class Strips {
  readonly root = document.createElement('div');
  private readonly names = document.createElement('div');
  private readonly scroller = document.createElement('div');
  private readonly canvas = document.createElement('canvas');
  private readonly tip = document.createElement('div');
  private readonly readout = document.createElement('div');
  private strips: Strip[] = [];
  private labels: string[] = [];
  private query = 0;
  /** The colour scale's largest |value| for each strip. */
  private scales: number[] = [];
  private cell = 0;
  private zoom = 1;
  /** The key the keyboard reads (−1: none yet); drawn as a dashed column. */
  private cursor = -1;

  constructor(
    readonly testId: string,
    private readonly onFocus: (token: number) => void,
  ) {
    this.root.className = 'strips';
    this.names.className = 'strip-names';
    this.scroller.className = 'strip-scroller';
    this.scroller.append(this.canvas);
    this.canvas.dataset.testid = testId;
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'application');
    this.tip.className = 'tooltip';
    this.tip.hidden = true;
    this.readout.className = 'readout muted';
    this.readout.dataset.testid = `${testId}-readout`;
    this.readout.setAttribute('aria-live', 'polite');
    const body = document.createElement('div');
    body.className = 'strip-body';
    body.append(this.names, this.scroller);
    const bar = document.createElement('div');
    bar.className = 'toolbar';
    for (const [t, label, f] of [['−', 'Narrower keys', 0.5], ['+', 'Wider keys', 2], ['Fit', 'Fit every key', 0]] as const) {
      const b = document.createElement('button');
      b.textContent = t;
      b.title = label;
      b.setAttribute('aria-label', `${label} (strips)`);
      b.addEventListener('click', () => {
        this.zoom = f === 0 ? 1 : Math.max(1, Math.min(32, this.zoom * f));
        this.draw();
      });
      bar.append(b);
    }
    this.root.append(bar, body, this.readout, this.tip);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e.clientX - this.canvas.getBoundingClientRect().left, e));
    this.canvas.addEventListener('mouseleave', () => (this.tip.hidden = true));
    this.canvas.addEventListener('click', (e) => {
      const k = this.keyAt(e.clientX - this.canvas.getBoundingClientRect().left);
      if (k !== undefined) this.onFocus(k);
    });
    this.canvas.addEventListener('keydown', (e) => {
      let cursor = this.cursor;
      const n = this.labels.length;
      if (!n) return;
      if (e.key === 'ArrowRight') cursor = Math.min(this.query, cursor + 1);
      else if (e.key === 'ArrowLeft') cursor = Math.max(0, cursor < 0 ? this.query : cursor - 1);
      else if (e.key === 'Home') cursor = 0;
      else if (e.key === 'End') cursor = this.query;
      else if ((e.key === 'Enter' || e.key === ' ') && cursor >= 0) this.onFocus(cursor);
      else return;
      e.preventDefault();
      this.cursor = cursor;
      this.draw();
      this.readout.textContent = this.describe(cursor);
      this.scroller.scrollLeft = Math.max(0, cursor * this.cell - this.scroller.clientWidth / 2);
    });
  }

  set(strips: Strip[], labels: string[], query: number): void {
    this.strips = strips;
    this.labels = labels;
    if (query !== this.query) this.cursor = -1;
    this.query = query;
    // Scales from the largest |value| among the keys the query sees, the query itself excluded (it dwarfs the rest).
    const maxOf = (s: Strip) => {
      let m = 0;
      for (let k = 0; k < Math.min(query, s.values.length); k++) if (Number.isFinite(s.values[k])) m = Math.max(m, Math.abs(s.values[k]));
      return m;
    };
    const shared = Math.max(0, ...strips.filter((s) => !s.view).map(maxOf)) || 1;
    this.scales = strips.map((s) => (s.view ? maxOf(s) || 1 : shared));
    this.names.replaceChildren(
      Object.assign(document.createElement('div'), { className: 'strip-name muted', textContent: 'keys' }),
      ...strips.map((s) => {
        const div = document.createElement('div');
        div.className = s.view ? 'strip-name view' : 'strip-name';
        div.title = s.title;
        div.dataset.testid = `${this.testId}-${s.id}`;
        const { negative, zeros } = counts(s.values, query);
        const name = document.createElement('span');
        name.textContent = s.name;
        const c = document.createElement('span');
        c.className = 'muted';
        c.textContent = ` neg ${negative} · zero ${zeros}`;
        div.append(name, c);
        return div;
      }),
    );
    this.draw();
  }

  draw(): void {
    const p = readPalette();
    const n = Math.min(this.labels.length, this.query + 1);
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const avail = Math.max(100, this.scroller.clientWidth || 400);
    this.cell = Math.max(0.5, Math.min(MAX_CANVAS / Math.max(1, n), (avail / Math.max(1, n)) * this.zoom));
    const w = Math.max(1, Math.ceil(n * this.cell));
    const h = LABEL_ROW + this.strips.length * ROW;
    this.canvas.width = w;
    this.canvas.height = h;
    ctx.fillStyle = p.background;
    ctx.fillRect(0, 0, w, h);
    const cw = this.cell;
    this.strips.forEach((s, i) => {
      const y0 = LABEL_ROW + i * ROW;
      ctx.fillStyle = p.border;
      ctx.fillRect(0, y0 + ROW - 1, w, 1);
      for (let k = 0; k < n; k++) {
        const v = s.values[k];
        const fill = colourOf(p, v, this.scales[i]);
        if (fill) {
          ctx.fillStyle = fill;
          ctx.fillRect(k * cw, y0 + 1, Math.max(cw - (cw > 3 ? 1 : 0), 0.5), ROW - 3);
        } else if (v === 0 && k <= this.query) {
          // Exactly zero: what the rectified and gated views are about; a dot, so it differs from "small".
          ctx.fillStyle = p.foreground;
          ctx.fillRect(k * cw + cw / 2 - 1, y0 + ROW / 2 - 1, 2, 2);
        }
      }
    });
    // Key labels, thinned to what fits; the query's own column outlined.
    ctx.fillStyle = p.muted;
    ctx.font = labelFont(10);
    ctx.textBaseline = 'middle';
    const step = Math.max(1, Math.ceil(48 / cw));
    for (let k = 0; k < n; k += step) ctx.fillText(cw >= 48 ? JSON.stringify(this.labels[k]).slice(1, 7) : String(k), k * cw + 1, LABEL_ROW / 2);
    ctx.strokeStyle = p.focus;
    ctx.strokeRect(this.query * cw + 0.5, LABEL_ROW + 0.5, Math.max(1, cw - 1), this.strips.length * ROW - 1);
    if (this.cursor >= 0 && this.cursor <= this.query) {
      ctx.setLineDash([2, 2]);
      ctx.strokeStyle = p.foreground;
      ctx.strokeRect(this.cursor * cw - 0.5, LABEL_ROW - 0.5, Math.max(1, cw) + 1, this.strips.length * ROW + 1);
      ctx.setLineDash([]);
    }
    this.canvas.setAttribute('aria-label', `query #${this.query}: ${this.strips.map((s) => s.name).join(', ')} over ${n} keys; arrow keys read a key, Enter focuses it`);
  }

  private keyAt(x: number): number | undefined {
    const k = Math.floor(x / this.cell);
    return k >= 0 && k <= this.query && k < this.labels.length ? k : undefined;
  }

  describe(k: number): string {
    const vals = this.strips.map((s) => `${s.name} ${Number.isFinite(s.values[k]) ? s.values[k].toFixed(4) : '—'}`);
    return `key #${k} ${JSON.stringify(this.labels[k] ?? '')}: ${vals.join(' · ')}`;
  }

  private hover(x: number, e: MouseEvent): void {
    const k = this.keyAt(x);
    if (k === undefined) {
      this.tip.hidden = true;
      return;
    }
    const text = this.describe(k);
    this.tip.textContent = text;
    this.readout.textContent = text;
    this.tip.hidden = false;
    const box = this.root.getBoundingClientRect();
    this.tip.style.left = `${Math.max(0, Math.min(e.clientX - box.left + 12, box.width - 300))}px`;
    this.tip.style.top = `${e.clientY - box.top + 16}px`;
  }
}

/** Keys the query sees (0..query) with a negative weight, and with exactly zero. */
export function counts(values: Float32Array, query: number): { negative: number; zeros: number } {
  let negative = 0;
  let zeros = 0;
  for (let k = 0; k <= Math.min(query, values.length - 1); k++) {
    if (values[k] < 0) negative++;
    else if (values[k] === 0) zeros++;
  }
  return { negative, zeros };
}
