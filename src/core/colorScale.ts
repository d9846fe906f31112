/**
 * How a signed weight becomes one of the editor's tint levels. Levels are signed: +1..+LEVELS warm (positive
 * weights), −1..−LEVELS cool (negative weights), 0 untinted. Strength is |w| relative to the largest |w| of the row
 * on a square-root scale: perceived contrast of a tint grows roughly with the square root of its alpha step, and a
 * linear scale leaves all but the top two or three tokens of a 2,000-token softmax row invisible.
 */
export const LEVELS = 7;
/** Below this fraction of the row's max |w| a token stays untinted (about level 0.35 on the sqrt scale). */
export const MIN_FRACTION = 1 / 400;

export function levelOf(w: number, maxAbs: number): number {
  if (!(maxAbs > 0) || !Number.isFinite(w) || w === 0) return 0;
  const f = Math.min(1, Math.abs(w) / maxAbs);
  if (f < MIN_FRACTION) return 0;
  const level = Math.max(1, Math.ceil(Math.sqrt(f) * LEVELS));
  return w > 0 ? level : -level;
}

/** Largest |w| over the entries, skipping `skip` (the focused token itself, which would dwarf the rest). */
export function maxAbsExcept(w: ArrayLike<number>, skip = -1): number {
  let m = 0;
  for (let i = 0; i < w.length; i++) if (i !== skip && Number.isFinite(w[i])) m = Math.max(m, Math.abs(w[i]));
  return m;
}

/** Indices of the `n` entries of largest |w| (ties by position), strongest first, skipping zeros. */
export function topIndices(w: ArrayLike<number>, n: number, skip = -1): number[] {
  const idx: number[] = [];
  for (let i = 0; i < w.length; i++) if (i !== skip && w[i] !== 0 && Number.isFinite(w[i])) idx.push(i);
  idx.sort((a, b) => Math.abs(w[b]) - Math.abs(w[a]) || a - b);
  return idx.slice(0, n);
}

/**
 * Alpha of the tint for a level (1..LEVELS): the contributed theme colours' defaults use these steps (a unit test
 * checks package.json), and so does the panel when the theme variables are missing. Capped at 0.7 so text stays
 * readable on the strongest tint.
 */
export function levelAlpha(level: number): number {
  const l = Math.min(LEVELS, Math.max(1, Math.abs(level)));
  return 0.1 + (0.6 * (l - 1)) / (LEVELS - 1);
}
