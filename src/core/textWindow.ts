/**
 * Which part of a document is analyzed. Text that fits the token budget is analyzed whole; longer text gets a
 * window of at most `maxTokens` tokens around the cursor, three quarters before it (a causal model's context is
 * what precedes) and a quarter after. Only a character window around the cursor is tokenized, so a 1 MB one-line
 * file costs no more than a short one.
 */
import type { Encoded } from './tokenizer';

export interface TextWindow {
  /** UTF-16 offset of the window in the full text. */
  start: number;
  end: number;
  /** Tokens of text.slice(start, end), spans relative to `start`. */
  encoded: Encoded;
  /** True when the window is not the whole text. */
  partial: boolean;
}

/** Generous bound on characters per token for this kind of tokenizer (long runs of spaces, base64). */
export const CHARS_PER_TOKEN = 8;

const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** Moves an offset off the middle of a surrogate pair. */
function boundary(text: string, off: number): number {
  return off > 0 && off < text.length && isLow(text.charCodeAt(off)) && !isLow(text.charCodeAt(off - 1)) ? off - 1 : off;
}

export function chooseWindow(text: string, cursor: number, maxTokens: number, encode: (s: string) => Encoded): TextWindow {
  if (!(Number.isInteger(maxTokens) && maxTokens >= 2)) throw new Error('maxTokens must be an integer ≥ 2');
  cursor = Math.max(0, Math.min(text.length, cursor));
  let start = 0;
  let end = text.length;
  if (text.length > maxTokens * CHARS_PER_TOKEN) {
    const before = Math.floor(maxTokens * CHARS_PER_TOKEN * 0.75);
    start = Math.max(0, cursor - before);
    end = Math.min(text.length, start + maxTokens * CHARS_PER_TOKEN);
    start = Math.max(0, end - maxTokens * CHARS_PER_TOKEN);
    // Start at a line start when one is near, so the window does not begin mid-line.
    const nl = text.lastIndexOf('\n', start);
    if (start > 0 && nl >= 0 && start - nl < 200) start = nl + 1;
    start = boundary(text, start);
    end = boundary(text, end);
  }
  for (let attempt = 0; attempt < 4; attempt++) {
    const encoded = encode(text.slice(start, end));
    const n = encoded.ids.length;
    if (n <= maxTokens) return { start, end, encoded, partial: start > 0 || end < text.length };
    // Keep maxTokens tokens around the cursor's token, then re-tokenize exactly that text.
    const rel = cursor - start;
    let c = encoded.spans.findIndex((s) => s.end > rel);
    if (c < 0) c = n - 1;
    const last = Math.min(n, Math.max(c + 1 + Math.floor(maxTokens / 4), maxTokens));
    const first = Math.max(0, last - maxTokens + attempt * 4);
    const newStart = start + encoded.spans[first].start;
    const newEnd = start + encoded.spans[last - 1].end;
    start = boundary(text, newStart);
    end = boundary(text, newEnd);
  }
  throw new Error('could not fit a window of the text into the token budget');
}

/**
 * Said in the panel when the window is longer than the model's training windows: the bundled twins take 16,384
 * positions (RoPE is not learned), but what they do beyond the distance they were trained on is extrapolation.
 */
export function contextNote(model: string, trained: number, tokens: number): string {
  return `${model} was trained on windows of ${trained.toLocaleString('en-US')} tokens; this window has ${tokens.toLocaleString('en-US')}. Attention over distances beyond ${trained.toLocaleString('en-US')} tokens is the model extrapolating, not something it learned: set attentionInspector.maxTokens to ${trained.toLocaleString('en-US')} for a window it knows.`;
}
