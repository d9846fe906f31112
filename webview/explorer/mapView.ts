/**
 * One attention map, large: the cells are rasterised once (ImageData, one pixel per cell) and scaled onto the canvas,
 * so zooming and panning a 2,048-token map redraws one image plus the labels in view. Token labels on both axes,
 * thinned to what fits and complete from 12 px per cell; a tooltip and a readout line for the cell under the pointer
 * or the keyboard cursor; click (or Enter) focuses the row's token in the editor; zoom with Ctrl+wheel, +/−/0 or the
 * buttons, pan by dragging, with the wheel or the arrow keys. Views of the twins can be linked to move together.
 */
import { labelFont, readPalette } from '../views/palette';
import { levelColours } from './levelColours';
import { rasterize } from './raster';

export interface MapData {
  /** Cells per side (P); each cell pools tokens when P < tokens. */
  cells: number;
  tokens: number;
  /** P × P, row-major; row = query, column = key. */
  data: Float32Array;
  labels: string[];
  title: string;
  /** The colour scale's largest |weight| (shared by the twins' maps so one colour means one weight). */
  maxAbs: number;
}

export interface MapHost {
  /** A cell (or a label) was chosen: focus this token in the editor. */
  focus(token: number): void;
  /** Extra text for the cell (DIFF's A1 and λ·A2), fetched on demand; undefined when there is none. */
  detail(query: number, key: number): Promise<string | undefined>;
}

const LEFT = 100;
const TOP = 76;
const LABEL_PX = 12;
const MAX_SCALE = 48;

const short = (s: string, n: number) => {
  const t = JSON.stringify(s).slice(1, -1);
  return t.length > n ? t.slice(0, n - 1) + '…' : t;
};
/** Tokens [first, end) pooled in cell c of P (the engine's pooling: cell c holds floor(cT/P) .. floor((c+1)T/P) − 1). */
export const cellRange = (c: number, P: number, T: number): [number, number] => [Math.floor((c * T) / P), Math.floor(((c + 1) * T) / P)];
/** The cell that holds token t: the inverse of cellRange. */
export const cellOf = (t: number, P: number, T: number): number => Math.ceil(((t + 1) * P) / T) - 1;

/** 1, 2, 5, 10, 20, 50…: label steps a reader can count. */
const niceStep = (n: number) => {
  let s = 1;
  for (;;) for (const m of [1, 2, 5]) if (s * m >= n) return s * m; else if (m === 5) s *= 10;
};

export class MapView {
  readonly root = document.createElement('div');
  readonly canvas = document.createElement('canvas');
  private readonly tip = document.createElement('div');
  private readonly readout = document.createElement('div');
  private readonly zoomLabel = document.createElement('span');
  private image: HTMLCanvasElement | undefined;
  private d: MapData | undefined;
  private focusToken: number | null = null;
  /** px per cell, and the cell at the plot's top-left corner. */
  private view = { scale: 1, x: 0, y: 0, fit: true };
  private cursor = { r: 0, c: 0 };
  private hover: { r: number; c: number } | undefined;
  private detailFor = '';
  private detailTimer: ReturnType<typeof setTimeout> | undefined;
  private drag: { x: number; y: number; vx: number; vy: number; moved: boolean } | undefined;
  private peers: MapView[] = [];
  /** Milliseconds each of the last draws took (the browser suite reads them). */
  readonly drawTimes: number[] = [];

  constructor(
    readonly testId: string,
    private readonly host: MapHost,
  ) {
    this.root.className = 'map';
    const bar = document.createElement('div');
    bar.className = 'toolbar';
    const btn = (text: string, label: string, f: () => void) => {
      const b = document.createElement('button');
      b.textContent = text;
      b.title = label;
      b.setAttribute('aria-label', label);
      b.addEventListener('click', f);
      return b;
    };
    bar.append(
      btn('−', 'Zoom out (−)', () => this.zoomBy(0.5)),
      btn('+', 'Zoom in (+)', () => this.zoomBy(2)),
      btn('Fit', 'Fit the whole map (0)', () => this.setFit()),
      this.zoomLabel,
    );
    this.canvas.dataset.testid = testId;
    this.canvas.tabIndex = 0;
    // "application": screen readers pass the arrow keys through to the map's own cursor.
    this.canvas.setAttribute('role', 'application');
    this.tip.className = 'tooltip';
    this.tip.hidden = true;
    this.tip.dataset.testid = `${testId}-tooltip`;
    this.readout.className = 'readout muted';
    this.readout.dataset.testid = `${testId}-readout`;
    this.readout.setAttribute('aria-live', 'polite');
    this.root.append(bar, this.canvas, this.readout, this.tip);
    this.listen();
  }

  /** Maps whose zoom and pan follow this one's (the twins side by side). */
  link(peers: MapView[]): void {
    this.peers = peers.filter((p) => p !== this);
  }

  set(d: MapData | undefined): void {
    const sameShape = this.d && d && this.d.cells === d.cells;
    this.d = d;
    this.image = undefined;
    if (!sameShape) this.view = { scale: 1, x: 0, y: 0, fit: true };
    this.detailFor = '';
    this.draw();
  }

  setFocus(t: number | null): void {
    if (this.focusToken === t) return;
    this.focusToken = t;
    if (t !== null && this.d) {
      // The editor's focus moves the map: its row comes into view.
      const r = cellOf(t, this.d.cells, this.d.tokens);
      this.cursor = { r, c: Math.min(this.cursor.c, r) };
      this.reveal(r, this.cursor.c);
    }
    this.draw();
  }

  private size(): { w: number; h: number; plotW: number; plotH: number } {
    const w = Math.max(200, this.root.clientWidth || 400);
    const h = Math.max(200, Math.min(w, Math.round(window.innerHeight * 0.72)));
    return { w, h, plotW: w - LEFT - 4, plotH: h - TOP - 4 };
  }

  private fitScale(): number {
    const { plotW, plotH } = this.size();
    return this.d ? Math.min(plotW, plotH) / this.d.cells : 1;
  }

  private setFit(): void {
    this.view = { scale: this.fitScale(), x: 0, y: 0, fit: true };
    this.changed();
  }

  private zoomBy(f: number, at?: { x: number; y: number }): void {
    if (!this.d) return;
    const { plotW, plotH } = this.size();
    const old = this.view.scale;
    const scale = Math.max(this.fitScale(), Math.min(MAX_SCALE, old * f));
    // Zoom about the pointer (or the plot's centre): the cell under it stays under it.
    const px = at ? at.x - LEFT : plotW / 2;
    const py = at ? at.y - TOP : plotH / 2;
    const cx = this.view.x + px / old;
    const cy = this.view.y + py / old;
    this.view = { scale, x: cx - px / scale, y: cy - py / scale, fit: false };
    this.changed();
  }

  private panBy(dx: number, dy: number): void {
    this.view = { ...this.view, x: this.view.x + dx / this.view.scale, y: this.view.y + dy / this.view.scale, fit: false };
    this.changed();
  }

  private clamp(): void {
    if (!this.d) return;
    const { plotW, plotH } = this.size();
    const P = this.d.cells;
    if (this.view.fit) this.view.scale = this.fitScale();
    const maxX = Math.max(0, P - plotW / this.view.scale);
    const maxY = Math.max(0, P - plotH / this.view.scale);
    this.view.x = Math.max(0, Math.min(maxX, this.view.x));
    this.view.y = Math.max(0, Math.min(maxY, this.view.y));
  }

  private changed(fromPeer = false): void {
    this.clamp();
    this.draw();
    if (!fromPeer) for (const p of this.peers) p.follow(this.view);
  }

  private follow(v: { scale: number; x: number; y: number; fit: boolean }): void {
    if (!this.d) return;
    this.view = { ...v };
    this.changed(true);
  }

  private reveal(r: number, c: number): void {
    const { plotW, plotH } = this.size();
    const s = this.view.scale;
    if (r < this.view.y || r + 1 > this.view.y + plotH / s) this.view.y = r - plotH / s / 2;
    if (c < this.view.x || c + 1 > this.view.x + plotW / s) this.view.x = c - plotW / s / 2;
    this.clamp();
  }

  /** Rebuilds the cell image (new data or a theme change). */
  restyle(): void {
    this.image = undefined;
    this.draw();
  }

  private cellImage(): HTMLCanvasElement | undefined {
    const d = this.d;
    if (!d) return undefined;
    if (this.image) return this.image;
    const img = document.createElement('canvas');
    img.width = img.height = d.cells;
    const ctx = img.getContext('2d')!;
    const pixels = ctx.createImageData(d.cells, d.cells);
    rasterize(d.data, d.cells, d.maxAbs, levelColours(), pixels.data);
    ctx.putImageData(pixels, 0, 0);
    this.image = img;
    return img;
  }

  draw(): void {
    const t0 = performance.now();
    const d = this.d;
    const { w, h, plotW, plotH } = this.size();
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`; // CSSOM: the CSP forbids style attributes, not style properties
      this.canvas.style.height = `${h}px`;
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const p = readPalette();
    ctx.fillStyle = p.background;
    ctx.fillRect(0, 0, w, h);
    if (!d) return;
    this.clamp();
    const { scale: s, x, y } = this.view;
    const P = d.cells;
    const img = this.cellImage()!;
    // The visible part of the image, scaled without smoothing: cells stay crisp squares.
    const sw = Math.min(P - x, plotW / s);
    const sh = Math.min(P - y, plotH / s);
    ctx.imageSmoothingEnabled = false;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, TOP, plotW, plotH);
    ctx.clip();
    ctx.drawImage(img, x, y, sw, sh, LEFT, TOP, sw * s, sh * s);
    ctx.strokeStyle = p.border;
    ctx.strokeRect(LEFT - 0.5, TOP - 0.5, Math.min(plotW, (P - x) * s) + 1, Math.min(plotH, (P - y) * s) + 1);
    const cellRect = (r: number, c: number, inset = 0): [number, number, number, number] => [LEFT + (c - x) * s + inset, TOP + (r - y) * s + inset, Math.max(1, s - 2 * inset), Math.max(1, s - 2 * inset)];
    if (this.focusToken !== null && this.focusToken < d.tokens) {
      const r = cellOf(this.focusToken, P, d.tokens);
      ctx.strokeStyle = p.focus;
      ctx.lineWidth = 1.5;
      ctx.strokeRect(LEFT - 0.5, TOP + (r - y) * s - 0.5, Math.min(plotW, (r + 1 - x) * s) + 1, Math.max(1, s) + 1);
    }
    const mark = this.hover ?? (document.activeElement === this.canvas ? this.cursor : undefined);
    if (mark) {
      ctx.strokeStyle = p.foreground;
      ctx.lineWidth = 1;
      ctx.setLineDash([2, 2]);
      ctx.strokeRect(...cellRect(mark.r, mark.c, -1));
      ctx.setLineDash([]);
    }
    ctx.restore();
    this.drawLabels(ctx, d, p.foreground, p.muted, plotW, plotH);
    this.zoomLabel.textContent = `${s >= 1 ? s.toFixed(s >= 10 ? 0 : 1) : s.toFixed(2)} px/cell${P < d.tokens ? ` · each cell pools ${(d.tokens / P).toFixed(1)} tokens (largest |a|)` : ''}`;
    this.canvas.setAttribute('aria-label', `${d.title}: ${d.tokens} tokens${P < d.tokens ? ` in ${P}×${P} cells` : ''}. Arrow keys move, Enter focuses the row's token, + and − zoom, 0 fits.`);
    this.drawTimes.push(performance.now() - t0);
    if (this.drawTimes.length > 240) this.drawTimes.splice(0, 120);
  }

  private drawLabels(ctx: CanvasRenderingContext2D, d: MapData, fg: string, muted: string, plotW: number, plotH: number): void {
    const { scale: s, x, y } = this.view;
    const P = d.cells;
    const pooled = P < d.tokens;
    const step = niceStep(Math.ceil(LABEL_PX / s));
    const full = step === 1 && !pooled;
    ctx.font = labelFont(Math.min(12, Math.max(9, Math.floor(s - 1))));
    ctx.textBaseline = 'middle';
    const text = (i: number) => {
      const [a, b] = cellRange(i, P, d.tokens);
      if (pooled) return `#${a}–${b - 1}`;
      return full ? short(d.labels[a] ?? '', 12) : `${a} ${short(d.labels[a] ?? '', 8)}`;
    };
    const first = (v: number) => Math.ceil(v / step) * step;
    ctx.fillStyle = full ? fg : muted;
    ctx.textAlign = 'right';
    for (let r = first(Math.floor(y)); r < Math.min(P, y + plotH / s); r += step) {
      const cy = TOP + (r - y + 0.5) * s;
      if (cy < TOP) continue;
      ctx.fillStyle = this.focusToken !== null && cellOf(this.focusToken, P, d.tokens) === r ? fg : full ? fg : muted;
      ctx.fillText(text(r), LEFT - 4, cy);
    }
    ctx.textAlign = 'left';
    for (let c = first(Math.floor(x)); c < Math.min(P, x + plotW / s); c += step) {
      const cx = LEFT + (c - x + 0.5) * s;
      if (cx < LEFT) continue;
      ctx.save();
      ctx.translate(cx, TOP - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.fillStyle = full ? fg : muted;
      ctx.fillText(text(c), 0, 0);
      ctx.restore();
    }
    ctx.fillStyle = muted;
    ctx.textAlign = 'left';
    ctx.fillText('query ↓  key →', 4, 10);
  }

  /** The cell (or label) under a point in canvas pixels: a cell {r, c}, a row label {r}, a column label {c}. */
  private hit(px: number, py: number): { r?: number; c?: number } | undefined {
    const d = this.d;
    if (!d) return undefined;
    const { scale: s, x, y } = this.view;
    const r = Math.floor(y + (py - TOP) / s);
    const c = Math.floor(x + (px - LEFT) / s);
    const inR = py >= TOP && r >= 0 && r < d.cells;
    const inC = px >= LEFT && c >= 0 && c < d.cells;
    if (inR && inC) return { r, c };
    if (inR && px < LEFT) return { r };
    if (inC && py < TOP) return { c };
    return undefined;
  }

  /** What the cell holds, as words (tooltip, readout, tests). */
  describe(r: number, c: number): string {
    const d = this.d!;
    const [i0, i1] = cellRange(r, d.cells, d.tokens);
    const [j0, j1] = cellRange(c, d.cells, d.tokens);
    const tok = (a: number, b: number) => (b - a <= 1 ? `#${a} ${JSON.stringify(d.labels[a] ?? '')}` : `#${a}–${b - 1}`);
    if (c > r) return `query ${tok(i0, i1)} → key ${tok(j0, j1)}: masked (a query sees only earlier tokens)`;
    const v = d.data[r * d.cells + c];
    return `query ${tok(i0, i1)} → key ${tok(j0, j1)}: weight ${v.toFixed(4)}${d.cells < d.tokens ? ' (largest |a| in the block)' : ''}`;
  }

  private show(r: number, c: number, at?: { x: number; y: number }): void {
    const d = this.d;
    if (!d) return;
    const base = this.describe(r, c);
    this.readout.textContent = base;
    this.tip.textContent = base;
    if (at) {
      this.tip.hidden = false;
      const box = this.root.getBoundingClientRect();
      this.tip.style.left = `${Math.max(0, Math.min(at.x + 14, box.width - 280))}px`;
      this.tip.style.top = `${at.y + 18}px`;
    }
    const key = `${r}/${c}`;
    this.detailFor = key;
    clearTimeout(this.detailTimer);
    if (c > r || d.cells < d.tokens) return;
    // Asked once the pointer rests: a sweep across the map must not queue a row request per cell in the side panel.
    this.detailTimer = setTimeout(() => {
      if (this.detailFor !== key) return;
      void this.host.detail(r, c).then(
        (extra) => {
          if (!extra || this.detailFor !== key) return;
          this.readout.textContent = `${base} · ${extra}`;
          this.tip.textContent = `${base}\n${extra}`;
        },
        () => undefined, // a newer analysis replaced this one: the tooltip keeps what it has
      );
    }, 150);
  }

  private listen(): void {
    const local = (e: MouseEvent) => {
      const b = this.canvas.getBoundingClientRect();
      return { x: e.clientX - b.left, y: e.clientY - b.top };
    };
    this.canvas.addEventListener('pointerdown', (e) => {
      this.drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
      this.canvas.setPointerCapture(e.pointerId);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      const g = this.drag;
      if (g && (g.moved || Math.abs(e.clientX - g.x) + Math.abs(e.clientY - g.y) > 4)) {
        g.moved = true;
        this.tip.hidden = true;
        this.view = { ...this.view, x: g.vx - (e.clientX - g.x) / this.view.scale, y: g.vy - (e.clientY - g.y) / this.view.scale, fit: false };
        this.changed();
        return;
      }
      const at = local(e);
      const hit = this.hit(at.x, at.y);
      if (hit?.r !== undefined && hit.c !== undefined) {
        if (this.hover?.r !== hit.r || this.hover?.c !== hit.c) {
          this.hover = { r: hit.r, c: hit.c };
          this.show(hit.r, hit.c, at);
          this.draw();
        }
      } else if (this.hover) {
        this.hover = undefined;
        this.tip.hidden = true;
        this.draw();
      }
    });
    this.canvas.addEventListener('pointerup', (e) => {
      const g = this.drag;
      this.drag = undefined;
      if (g?.moved || !this.d) return;
      const at = local(e);
      const hit = this.hit(at.x, at.y);
      // A cell or a row label focuses its query token; a column label focuses that key's token.
      const cell = hit?.r ?? hit?.c;
      if (cell === undefined) return;
      if (hit?.r !== undefined && hit.c !== undefined) this.cursor = { r: hit.r, c: hit.c };
      this.host.focus(Math.floor((cell * this.d.tokens) / this.d.cells));
    });
    this.canvas.addEventListener('pointerleave', () => {
      this.hover = undefined;
      this.tip.hidden = true;
      this.draw();
    });
    this.canvas.addEventListener(
      'wheel',
      (e) => {
        if (!this.d) return;
        if (e.ctrlKey || e.metaKey) {
          e.preventDefault();
          this.zoomBy(e.deltaY < 0 ? 1.25 : 0.8, local(e));
          return;
        }
        // The wheel pans the map while it can move; at its edges (and fitted) it scrolls the page as usual.
        const before = `${this.view.x}/${this.view.y}`;
        if (e.shiftKey) this.panBy(e.deltaY, 0);
        else this.panBy(e.deltaX, e.deltaY);
        if (`${this.view.x}/${this.view.y}` !== before) e.preventDefault();
      },
      { passive: false },
    );
    this.canvas.addEventListener('focus', () => this.draw());
    this.canvas.addEventListener('blur', () => this.draw());
    this.canvas.addEventListener('keydown', (e) => {
      const d = this.d;
      if (!d) return;
      const P = d.cells;
      const c = this.cursor;
      const page = Math.max(1, Math.floor(this.size().plotH / this.view.scale) - 1);
      switch (e.key) {
        case 'ArrowUp': c.r = Math.max(0, c.r - 1); c.c = Math.min(c.c, c.r); break;
        case 'ArrowDown': c.r = Math.min(P - 1, c.r + 1); break;
        case 'ArrowLeft': c.c = Math.max(0, c.c - 1); break;
        case 'ArrowRight': c.c = Math.min(c.r, c.c + 1); break;
        case 'PageUp': c.r = Math.max(0, c.r - page); c.c = Math.min(c.c, c.r); break;
        case 'PageDown': c.r = Math.min(P - 1, c.r + page); break;
        case 'Home': c.c = 0; break;
        case 'End': c.c = c.r; break;
        case '+': case '=': this.zoomBy(2); return e.preventDefault();
        case '-': this.zoomBy(0.5); return e.preventDefault();
        case '0': this.setFit(); return e.preventDefault();
        case 'Enter': case ' ': this.host.focus(Math.floor((c.r * d.tokens) / P)); return e.preventDefault();
        default: return;
      }
      e.preventDefault();
      this.hover = undefined;
      this.tip.hidden = true;
      this.reveal(c.r, c.c);
      this.show(c.r, c.c);
      this.changed();
    });
  }
}
