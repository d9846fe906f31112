/**
 * One head's map on a canvas: pooled cells (signed max-|a|), token labels when every cell is one token and there is
 * room, zoom (buttons, Ctrl+wheel) and scroll for long texts, and a tooltip with the values under the pointer.
 */
import { maxAbsExcept } from '../../src/core/colorScale';
import { colourOf, labelFont, readPalette } from './palette';

export interface HeatmapData {
  cells: number;
  tokens: number;
  data: Float32Array;
  labels: string[];
  title: string;
  focus: number | null;
}

const MAX_CANVAS = 8192;
const LABEL_W = 90;

const cellRange = (c: number, P: number, T: number): [number, number] => [Math.floor((c * T) / P), Math.floor(((c + 1) * T) / P)];
const short = (s: string, n = 12) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

export class Heatmap {
  readonly root: HTMLElement;
  private readonly canvas = document.createElement('canvas');
  private readonly scroller = document.createElement('div');
  private readonly tip = document.createElement('div');
  private readonly zoomLabel = document.createElement('span');
  private zoom: number | 'fit' = 'fit';
  private current: HeatmapData | undefined;
  private geometry = { px: 1, margin: 0 };

  constructor(testId: string) {
    this.root = document.createElement('div');
    this.root.className = 'heatmap';
    const bar = document.createElement('div');
    bar.className = 'toolbar';
    const btn = (text: string, title: string, f: () => void) => {
      const b = document.createElement('button');
      b.textContent = text;
      b.title = title;
      b.setAttribute('aria-label', title);
      b.addEventListener('click', f);
      return b;
    };
    bar.append(
      btn('−', 'Zoom out', () => this.setZoom(this.geometry.px / 2)),
      btn('+', 'Zoom in', () => this.setZoom(this.geometry.px * 2)),
      btn('Fit', 'Fit to the panel width', () => this.setZoom('fit')),
      this.zoomLabel,
    );
    this.scroller.className = 'scroller';
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute('role', 'img');
    this.canvas.dataset.testid = testId;
    this.tip.className = 'tooltip';
    this.tip.hidden = true;
    this.tip.dataset.testid = `${testId}-tooltip`;
    this.scroller.append(this.canvas);
    this.root.append(bar, this.scroller, this.tip);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => (this.tip.hidden = true));
    this.scroller.addEventListener(
      'wheel',
      (e) => {
        if (!e.ctrlKey) return;
        e.preventDefault();
        this.setZoom(this.geometry.px * (e.deltaY < 0 ? 1.25 : 0.8));
      },
      { passive: false },
    );
    this.scroller.addEventListener('keydown', (e) => {
      if (e.key === '+' || e.key === '=') this.setZoom(this.geometry.px * 2);
      else if (e.key === '-') this.setZoom(this.geometry.px / 2);
      else if (e.key === '0') this.setZoom('fit');
    });
  }

  private setZoom(z: number | 'fit'): void {
    this.zoom = z === 'fit' ? 'fit' : Math.max(0.25, Math.min(32, z));
    this.draw();
  }

  private base: HTMLCanvasElement | undefined;

  show(d: HeatmapData | undefined): void {
    this.current = d;
    this.base = undefined;
    this.draw();
  }

  /** Moves the focus line without redrawing the cells. */
  setFocus(focus: number | null): void {
    if (!this.current || this.current.focus === focus) return;
    this.current = { ...this.current, focus };
    if (!this.base) return this.draw();
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.drawImage(this.base, 0, 0);
    this.drawFocus(ctx);
  }

  private drawFocus(ctx: CanvasRenderingContext2D): void {
    const d = this.current;
    if (!d || d.focus === null || d.focus >= d.tokens) return;
    const { px, margin } = this.geometry;
    const P = d.cells;
    const r = Math.floor((d.focus * P) / d.tokens);
    ctx.strokeStyle = readPalette().focus;
    ctx.lineWidth = 1;
    ctx.strokeRect(margin + 0.5, margin + r * px + 0.5, P * px - 1, Math.max(px, 1) - 1);
  }

  private draw(): void {
    const d = this.current;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    if (!d) {
      this.canvas.width = this.canvas.height = 0;
      return;
    }
    const p = readPalette();
    const P = d.cells;
    const width = Math.max(120, this.scroller.clientWidth || 300);
    const labelled = P === d.tokens;
    // Labels need room: fit with them when each cell still gets 9 px, otherwise fill the width with cells.
    const fitLabelled = (width - LABEL_W - 4) / P;
    const fit = Math.max(0.25, labelled && fitLabelled >= 9 ? fitLabelled : (width - 4) / P);
    let px = this.zoom === 'fit' ? fit : this.zoom;
    px = Math.min(px, (MAX_CANVAS - LABEL_W) / P);
    const showLabels = labelled && px >= 9 && (this.zoom !== 'fit' || fitLabelled >= 9);
    const margin = showLabels ? LABEL_W : 0;
    this.geometry = { px, margin };
    const size = Math.ceil(margin + P * px);
    this.canvas.width = size;
    this.canvas.height = size;
    this.scroller.setAttribute('aria-label', `${d.title}: ${P}×${P} cells for ${d.tokens} tokens`);
    this.zoomLabel.textContent = `${px >= 1 ? px.toFixed(0) : px.toFixed(2)} px/cell${P < d.tokens ? ` · pooled ${d.tokens}→${P}` : ''}`;
    ctx.fillStyle = p.background;
    ctx.fillRect(0, 0, size, size);
    const max = maxAbsExcept(d.data);
    for (let r = 0; r < P; r++) {
      for (let c = 0; c <= r; c++) {
        const fill = colourOf(p, d.data[r * P + c], max);
        if (!fill) continue;
        ctx.fillStyle = fill;
        ctx.fillRect(margin + c * px, margin + r * px, Math.max(px, 1), Math.max(px, 1));
      }
    }
    if (showLabels) {
      ctx.fillStyle = p.foreground;
      ctx.font = labelFont(Math.floor(Math.min(12, px)));
      ctx.textBaseline = 'middle';
      for (let i = 0; i < P; i++) {
        ctx.textAlign = 'right';
        ctx.fillText(short(d.labels[i] ?? ''), margin - 4, margin + (i + 0.5) * px);
        ctx.save();
        ctx.translate(margin + (i + 0.5) * px, margin - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = 'left';
        ctx.fillText(short(d.labels[i] ?? '', 10), 0, 0);
        ctx.restore();
      }
    }
    // Keep the cells as an image, so a focus change only redraws the line.
    this.base = document.createElement('canvas');
    this.base.width = size;
    this.base.height = size;
    this.base.getContext('2d')?.drawImage(this.canvas, 0, 0);
    this.drawFocus(ctx);
  }

  private hover(e: MouseEvent): void {
    const d = this.current;
    if (!d) return;
    const rect = this.canvas.getBoundingClientRect();
    const { px, margin } = this.geometry;
    const c = Math.floor((e.clientX - rect.left - margin) / px);
    const r = Math.floor((e.clientY - rect.top - margin) / px);
    if (r < 0 || c < 0 || r >= d.cells || c >= d.cells) {
      this.tip.hidden = true;
      return;
    }
    const [i0, i1] = cellRange(r, d.cells, d.tokens);
    const [j0, j1] = cellRange(c, d.cells, d.tokens);
    const tok = (a: number, b: number) => (b - a <= 1 ? `#${a} ${JSON.stringify(d.labels[a] ?? '')}` : `#${a}–${b - 1}`);
    const v = c > r ? 0 : d.data[r * d.cells + c];
    this.tip.textContent = `query ${tok(i0, i1)} → key ${tok(j0, j1)}: ${v.toFixed(4)}${d.cells < d.tokens ? ' (largest |a| in the block)' : ''}`;
    this.tip.hidden = false;
    const host = this.root.getBoundingClientRect();
    this.tip.style.left = `${Math.min(e.clientX - host.left + 12, host.width - 200)}px`;
    this.tip.style.top = `${e.clientY - host.top + 16}px`;
  }

  /** The canvas as PNG, for Export. */
  png(): { dataUrl: string; width: number; height: number } {
    if (!this.current || this.canvas.width === 0) throw new Error('no heatmap is drawn: analyze a document first');
    return { dataUrl: this.canvas.toDataURL('image/png'), width: this.canvas.width, height: this.canvas.height };
  }
}
