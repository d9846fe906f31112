/**
 * Signed weights to pixels, one pixel per cell, for maps drawn with ImageData (a 2,048-token map is 4 M cells: one
 * fillRect per cell takes seconds, this takes milliseconds) and scaled on the canvas. The colours are the editor's tint
 * levels (colorScale.ts), so a cell of the explorer and a token in the editor with the same weight look the same.
 */
import { LEVELS, levelOf } from '../../src/core/colorScale';

/** RGBA of each level: positive[i] and negative[i] for levels i + 1, four bytes each. */
export interface LevelColours {
  positive: Uint8ClampedArray;
  negative: Uint8ClampedArray;
}

/**
 * Writes the lower triangle of a P × P map (row-major) into `out` (P · P · 4 bytes, RGBA); cells above the diagonal
 * (masked by causality) and untinted cells stay transparent.
 */
export function rasterize(data: Float32Array, P: number, maxAbs: number, colours: LevelColours, out: Uint8ClampedArray): void {
  out.fill(0);
  for (let r = 0; r < P; r++) {
    const row = r * P;
    for (let c = 0; c <= r; c++) {
      const l = levelOf(data[row + c], maxAbs);
      if (l === 0) continue;
      const src = l > 0 ? colours.positive : colours.negative;
      const k = (Math.abs(l) - 1) * 4;
      const o = (row + c) * 4;
      out[o] = src[k];
      out[o + 1] = src[k + 1];
      out[o + 2] = src[k + 2];
      out[o + 3] = src[k + 3];
    }
  }
}

/**
 * The weights at which the legend's levels start: level l (1..LEVELS) covers |w| in (edge[l − 1], edge[l]] of the
 * largest |w|, on colorScale's square-root scale.
 */
export function levelEdges(maxAbs: number): number[] {
  return Array.from({ length: LEVELS + 1 }, (_, l) => maxAbs * (l / LEVELS) ** 2);
}

/** Parses the `rgb(…)`/`rgba(…)`/`#rrggbb[aa]` a canvas normalises a CSS colour to. */
export function parseCanvasColour(s: string): [number, number, number, number] {
  const hex = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(s.trim());
  if (hex) {
    const n = parseInt(hex[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255, hex[2] ? parseInt(hex[2], 16) : 255];
  }
  const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+%?))?\s*\)$/i.exec(s.trim());
  if (!m) return [0, 0, 0, 0];
  const a = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
  return [Math.round(+m[1]), Math.round(+m[2]), Math.round(+m[3]), Math.round(a * 255)];
}
