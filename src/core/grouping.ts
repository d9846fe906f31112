/**
 * Word and line aggregation for reading code: neighbouring tokens are grouped and a group's weight is the sum of its
 * tokens' weights. Groups tile the token list in order.
 */
import type { TokenSpan } from './tokenizer';

export type Aggregation = 'token' | 'word' | 'line';

export interface Group {
  /** UTF-16 range in the analyzed text. */
  start: number;
  end: number;
  /** First token and one past the last token. */
  first: number;
  last: number;
}

const WORD = /[\p{L}\p{N}_\p{M}]/u;

function firstChar(text: string, s: TokenSpan): string {
  return s.end > s.start ? String.fromCodePoint(text.codePointAt(s.start)!) : '';
}
function lastChar(text: string, s: TokenSpan): string {
  if (s.end <= s.start) return '';
  const c = text.charCodeAt(s.end - 1);
  return s.end - 2 >= s.start && c >= 0xdc00 && c <= 0xdfff ? text.slice(s.end - 2, s.end) : text[s.end - 1];
}

/** Groups tokens: one per token; words (a token continues a word when both sides of the seam are word characters,
 * or when it holds part of a character); or lines (by the line of the token's first character that is not a line
 * break). */
export function groupSpans(text: string, spans: readonly TokenSpan[], mode: Aggregation): Group[] {
  const groups: Group[] = [];
  const push = (i: number) => groups.push({ start: spans[i].start, end: spans[i].end, first: i, last: i + 1 });
  const extend = (i: number) => {
    const g = groups[groups.length - 1];
    g.end = spans[i].end;
    g.last = i + 1;
  };
  if (mode === 'token') {
    spans.forEach((_, i) => push(i));
    return groups;
  }
  if (mode === 'word') {
    spans.forEach((s, i) => {
      if (i === 0) return push(i);
      const prev = spans[i - 1];
      const joins = s.partial || prev.partial || s.end === s.start || (WORD.test(lastChar(text, prev)) && WORD.test(firstChar(text, s)));
      if (joins) extend(i);
      else push(i);
    });
    return groups;
  }
  let line = -1;
  let lineOf = 0;
  let scanned = 0;
  spans.forEach((s, i) => {
    // The line of the token's first character that is not a line break; a token of only breaks (or part of a
    // character) ends the line before it, so blank lines make no groups of their own.
    let p = s.start;
    while (p < s.end && (text[p] === '\n' || text[p] === '\r')) p++;
    if (p === s.end && groups.length > 0) return extend(i);
    for (; scanned < p; scanned++) if (text[scanned] === '\n') lineOf++;
    if (lineOf !== line || groups.length === 0) {
      line = lineOf;
      push(i);
    } else extend(i);
  });
  return groups;
}

/** Sums token weights per group. */
export function aggregate(weights: ArrayLike<number>, groups: readonly Group[]): Float32Array {
  const out = new Float32Array(groups.length);
  groups.forEach((g, k) => {
    let s = 0;
    for (let i = g.first; i < g.last; i++) s += weights[i];
    out[k] = s;
  });
  return out;
}

/** Index of the last item whose key is ≤ x (0 when none is; -1 for an empty list). Keys must not decrease. */
function lastAtOrBefore<T>(items: readonly T[], key: (item: T) => number, x: number): number {
  if (items.length === 0) return -1;
  let lo = 0;
  let hi = items.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (key(items[mid]) <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** The group holding token `t`. */
export function groupOf(groups: readonly Group[], t: number): number {
  return lastAtOrBefore(groups, (g) => g.first, t);
}

/**
 * The token whose range holds UTF-16 offset `off` (a token ending at `off` when none starts there). Partial tokens
 * have empty ranges just before the token that completes their character, so the last token starting at or before
 * `off` is the one that holds the character there.
 */
export function tokenAt(spans: readonly TokenSpan[], off: number): number {
  return lastAtOrBefore(spans, (s) => s.start, off);
}
