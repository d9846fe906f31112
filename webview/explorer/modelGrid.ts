/**
 * The model view: every layer × head as a thumbnail button with its badges (mean row entropy; for DIFF, negative
 * mass), so a reader scans the whole model and opens a head in the explorer with a click, or with the arrow keys and
 * Enter (one tab stop for the grid, as in VS Code's own lists).
 */
import { maxAbsExcept } from '../../src/core/colorScale';
import { readPalette } from '../views/palette';
import { levelColours } from './levelColours';
import { rasterize } from './raster';

export interface HeadBadges {
  entropy: number;
  negativeMass: number;
  firstTokenMass: number;
}

export class ModelGrid {
  readonly root = document.createElement('div');
  private readonly cells: HTMLButtonElement[] = [];
  private readonly thumbs = new Map<number, Float32Array>();
  private cursor = 0;

  constructor(
    readonly testId: string,
    layers: number,
    private readonly heads: number,
    private readonly signed: boolean,
    onOpen: (layer: number, head: number) => void,
  ) {
    this.root.className = 'model-grid';
    this.root.dataset.testid = testId;
    this.root.setAttribute('role', 'group');
    this.root.setAttribute('aria-label', `${layers} layers × ${heads} heads: arrow keys move, Enter opens a head`);
    this.root.style.gridTemplateColumns = `auto repeat(${heads}, minmax(64px, 88px))`;
    this.root.append(document.createElement('span'));
    for (let h = 0; h < heads; h++) this.root.append(Object.assign(document.createElement('span'), { className: 'axis muted', textContent: `h${h}` }));
    for (let l = 0; l < layers; l++) {
      this.root.append(Object.assign(document.createElement('span'), { className: 'axis muted', textContent: `L${l}` }));
      for (let h = 0; h < heads; h++) {
        const i = l * heads + h;
        const b = document.createElement('button');
        b.className = 'head';
        b.tabIndex = i === 0 ? 0 : -1;
        b.dataset.testid = `${testId}-L${l}h${h}`;
        b.setAttribute('aria-label', `layer ${l} head ${h}`);
        const c = document.createElement('canvas');
        c.width = c.height = 56;
        const badge = Object.assign(document.createElement('span'), { className: 'badge-line' });
        b.append(c, badge);
        b.addEventListener('click', () => {
          this.move(i);
          onOpen(l, h);
        });
        b.addEventListener('keydown', (e) => {
          const next = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'ArrowDown' ? i + heads : e.key === 'ArrowUp' ? i - heads : -1;
          if (next < 0 && !['ArrowLeft', 'ArrowUp'].includes(e.key)) return;
          e.preventDefault();
          if (next >= 0 && next < layers * heads) this.move(next, true);
        });
        this.cells.push(b);
        this.root.append(b);
      }
    }
  }

  private move(i: number, focus = false): void {
    this.cells[this.cursor].tabIndex = -1;
    this.cursor = i;
    this.cells[i].tabIndex = 0;
    if (focus) this.cells[i].focus();
  }

  setThumb(layer: number, head: number, data: Float32Array): void {
    this.thumbs.set(layer * this.heads + head, data);
    this.drawThumb(layer * this.heads + head);
  }

  redraw(): void {
    for (const i of this.thumbs.keys()) this.drawThumb(i);
  }

  private drawThumb(i: number): void {
    const data = this.thumbs.get(i);
    const canvas = this.cells[i]?.querySelector('canvas');
    const ctx = canvas?.getContext('2d');
    if (!data || !canvas || !ctx) return;
    const P = Math.round(Math.sqrt(data.length));
    const p = readPalette();
    const img = document.createElement('canvas');
    img.width = img.height = P;
    const ictx = img.getContext('2d')!;
    const px = ictx.createImageData(P, P);
    rasterize(data, P, maxAbsExcept(data), levelColours(), px.data);
    ictx.putImageData(px, 0, 0);
    ctx.fillStyle = p.background;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  }

  setBadges(layer: number, badges: HeadBadges[]): void {
    badges.forEach((b, h) => {
      const cell = this.cells[layer * this.heads + h];
      if (!cell) return;
      const line = cell.querySelector('.badge-line')!;
      const f = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');
      line.textContent = this.signed ? `H ${f(b.entropy)} · neg ${f(b.negativeMass)}` : `H ${f(b.entropy)} · 1st ${f(b.firstTokenMass)}`;
      cell.title = `layer ${layer} head ${h}: mean row entropy ${f(b.entropy)} nats${this.signed ? ` (A1), negative mass ${f(b.negativeMass)} per row` : ''}, first-token mass ${f(b.firstTokenMass)}. Click to open it in the explorer.`;
    });
  }

  select(layer: number, head: number | 'mean'): void {
    this.cells.forEach((c, i) => {
      const l = Math.floor(i / this.heads);
      const h = i % this.heads;
      c.classList.toggle('selected', l === layer && (head === 'mean' || head === h));
      c.setAttribute('aria-pressed', String(l === layer && (head === 'mean' || head === h)));
    });
  }
}
