/** The theme's tint levels as RGBA bytes, for ImageData (read again after a theme change). */
import { readPalette } from '../views/palette';
import { parseCanvasColour, type LevelColours } from './raster';

export function levelColours(): LevelColours {
  const p = readPalette();
  const probe = document.createElement('canvas').getContext('2d')!;
  const pack = (list: string[]) => {
    const out = new Uint8ClampedArray(list.length * 4);
    list.forEach((c, i) => {
      probe.fillStyle = '#000';
      probe.fillStyle = c; // the canvas normalises any CSS colour (theme variables come as hex with alpha)
      out.set(parseCanvasColour(String(probe.fillStyle)), i * 4);
    });
    return out;
  };
  return { positive: pack(p.positive), negative: pack(p.negative) };
}
