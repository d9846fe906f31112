/**
 * The layer × head grid of one model: a signed thumbnail of every head's map on one canvas (not one DOM node per
 * cell). Click or arrow keys + Enter select a head.
 */
import { maxAbsExcept } from '../../src/core/colorScale';
import { colourOf, readPalette } from './palette';

export const THUMB_CELLS = 32;
const THUMB_PX = 56;
const GAP = 6;
const LABEL = 22;

export class HeadGrid {
  readonly canvas = document.createElement('canvas');
  private thumbs: (Float32Array | undefined)[] = [];
  private layers = 0;
  private heads = 0;
  private cursor = { layer: 0, head: 0 };
  private selected: { layer: number | 'all'; head: number | string } = { layer: 0, head: 0 };

  constructor(
    testId: string,
    private readonly onSelect: (layer: number, head: number) => void,
  ) {
    this.canvas.dataset.testid = testId;
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'grid');
    this.canvas.addEventListener('click', (e) => {
      const r = this.canvas.getBoundingClientRect();
      const hit = this.hit(e.clientX - r.left, e.clientY - r.top);
      if (hit) {
        this.cursor = hit;
        this.onSelect(hit.layer, hit.head);
      }
    });
    this.canvas.addEventListener('keydown', (e) => {
      const c = this.cursor;
      if (e.key === 'ArrowRight') c.head = Math.min(this.heads - 1, c.head + 1);
      else if (e.key === 'ArrowLeft') c.head = Math.max(0, c.head - 1);
      else if (e.key === 'ArrowDown') c.layer = Math.min(this.layers - 1, c.layer + 1);
      else if (e.key === 'ArrowUp') c.layer = Math.max(0, c.layer - 1);
      else if (e.key === 'Enter' || e.key === ' ') this.onSelect(c.layer, c.head);
      else return;
      e.preventDefault();
      this.draw();
    });
  }

  private hit(x: number, y: number): { layer: number; head: number } | undefined {
    const head = Math.floor((x - LABEL) / (THUMB_PX + GAP));
    const layer = Math.floor((y - LABEL) / (THUMB_PX + GAP));
    return head >= 0 && head < this.heads && layer >= 0 && layer < this.layers ? { layer, head } : undefined;
  }

  reset(layers: number, heads: number): void {
    this.layers = layers;
    this.heads = heads;
    this.thumbs = Array.from({ length: layers * heads }, () => undefined);
    this.canvas.width = LABEL + heads * (THUMB_PX + GAP);
    this.canvas.height = LABEL + layers * (THUMB_PX + GAP);
    this.canvas.setAttribute('aria-label', `${layers} layers × ${heads} heads; arrow keys move, Enter selects`);
    this.draw();
  }

  setThumb(layer: number, head: number, data: Float32Array): void {
    this.thumbs[layer * this.heads + head] = data;
    this.draw();
  }

  select(layer: number | 'all', head: number | string): void {
    this.selected = { layer, head };
    if (typeof layer === 'number' && typeof head === 'number') this.cursor = { layer, head };
    this.draw();
  }

  draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const p = readPalette();
    ctx.fillStyle = p.background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.fillStyle = p.muted;
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    for (let h = 0; h < this.heads; h++) ctx.fillText(`h${h}`, LABEL + h * (THUMB_PX + GAP) + THUMB_PX / 2, LABEL / 2);
    for (let l = 0; l < this.layers; l++) ctx.fillText(`L${l}`, LABEL / 2, LABEL + l * (THUMB_PX + GAP) + THUMB_PX / 2);
    for (let l = 0; l < this.layers; l++) {
      for (let h = 0; h < this.heads; h++) {
        const x0 = LABEL + h * (THUMB_PX + GAP);
        const y0 = LABEL + l * (THUMB_PX + GAP);
        ctx.strokeStyle = p.border;
        ctx.lineWidth = 1;
        ctx.strokeRect(x0 - 0.5, y0 - 0.5, THUMB_PX + 1, THUMB_PX + 1);
        const t = this.thumbs[l * this.heads + h];
        if (t) {
          const P = Math.round(Math.sqrt(t.length));
          const cell = THUMB_PX / P;
          const max = maxAbsExcept(t);
          for (let r = 0; r < P; r++)
            for (let c = 0; c <= r; c++) {
              const fill = colourOf(p, t[r * P + c], max);
              if (!fill) continue;
              ctx.fillStyle = fill;
              ctx.fillRect(x0 + c * cell, y0 + r * cell, Math.ceil(cell), Math.ceil(cell));
            }
        }
        const s = this.selected;
        const inLayer = s.layer === 'all' || s.layer === l;
        const isSel = inLayer && (typeof s.head === 'number' ? s.head === h : true);
        if (isSel) {
          // A single head gets a bold frame; the heads a reduction spans get a thin one.
          ctx.strokeStyle = p.focus;
          ctx.lineWidth = typeof s.head === 'number' && s.layer !== 'all' ? 2 : 1;
          ctx.strokeRect(x0 - 2, y0 - 2, THUMB_PX + 4, THUMB_PX + 4);
        }
        if (document.activeElement === this.canvas && this.cursor.layer === l && this.cursor.head === h) {
          ctx.setLineDash([3, 2]);
          ctx.strokeStyle = p.foreground;
          ctx.lineWidth = 1;
          ctx.strokeRect(x0 - 4, y0 - 4, THUMB_PX + 8, THUMB_PX + 8);
          ctx.setLineDash([]);
        }
      }
    }
  }
}
