/**
 * Tokenization with exact UTF-16 ranges in the source text.
 *
 * Ids come from @huggingface/tokenizers (byte-level BPE from an HF tokenizer.json), which returns no offsets. The
 * ranges are derived here: each byte-level token is mapped back to its UTF-8 bytes, byte offsets are accumulated,
 * and byte offsets are converted to UTF-16 offsets of the text. A token that ends inside a multi-byte character
 * (emoji, CJK, combining marks are often split) gets the UTF-16 range up to the end of that character only if it
 * holds the character's last byte; the others get an empty range at the character's start and `partial: true`.
 * So the ranges always tile the text, in order, with no gaps and no overlaps.
 */
import { Tokenizer } from '@huggingface/tokenizers';

export interface TokenSpan {
  id: number;
  /** The token as the vocabulary spells it (byte-level characters, e.g. "Ġthe"). */
  piece: string;
  /** UTF-16 range in the source text, [start, end). */
  start: number;
  end: number;
  /** UTF-8 byte range in the source text, [byteStart, byteEnd). */
  byteStart: number;
  byteEnd: number;
  /** True when the token holds only part of a character's bytes. */
  partial: boolean;
}

export interface Encoded {
  ids: number[];
  spans: TokenSpan[];
}

/** GPT-2's printable-character stand-ins for bytes, inverted: character → byte. */
function unicodeToBytes(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const m = new Map<string, number>();
  bs.forEach((b, i) => m.set(String.fromCharCode(cs[i]), b));
  return m;
}
const U2B = unicodeToBytes();
const utf8 = new TextEncoder();

/** UTF-8 length of one code point; lone surrogates count as U+FFFD (3 bytes), as TextEncoder encodes them. */
function utf8Length(cp: number): number {
  if (cp >= 0xd800 && cp <= 0xdfff) return 3;
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

interface TokenizerJson {
  added_tokens?: { id: number; content: string }[];
  model?: { type?: string };
  pre_tokenizer?: { type?: string; pretokenizers?: { type?: string }[] } | null;
}

/** ByteLevel alone (GPT-2), or inside a Sequence after a Split (Llama 3, Qwen2): the pieces are byte-level either way. */
const byteLevel = (p: TokenizerJson['pre_tokenizer']) => p?.type === 'ByteLevel' || (p?.type === 'Sequence' && !!p.pretokenizers?.some((x) => x.type === 'ByteLevel'));

export class TextTokenizer {
  private readonly tok: Tokenizer;
  private readonly added = new Map<string, number>();

  constructor(json: unknown) {
    const j = json as TokenizerJson;
    if (j?.model?.type !== 'BPE' || !byteLevel(j.pre_tokenizer)) {
      throw new Error(
        `tokenizer.json: only byte-level BPE tokenizers are supported (model.type "BPE" with a ByteLevel pre-tokenizer, as GPT-2, Llama 3 and Qwen use); this one has model.type "${j?.model?.type}" and pre_tokenizer "${j?.pre_tokenizer?.type ?? 'none'}" (SentencePiece-style tokenizers such as Llama 2's cannot be mapped back to exact text ranges yet)`,
      );
    }
    for (const t of j.added_tokens ?? []) this.added.set(t.content, t.id);
    this.tok = new Tokenizer(json as object, {});
  }

  /** Byte length of one token piece. */
  private pieceBytes(piece: string): number {
    if (this.added.has(piece)) return utf8.encode(piece).length;
    let n = 0;
    for (const ch of piece) {
      if (!U2B.has(ch)) throw new Error(`token piece "${piece}" is not byte-level`);
      n++;
    }
    return n;
  }

  encode(text: string): Encoded {
    const { ids, tokens } = this.tok.encode(text, { add_special_tokens: false });
    // byteToU16[b] for every character boundary b; inside a character, -1.
    const totalBytes = utf8.encode(text).length;
    const charStartU16 = new Int32Array(totalBytes + 1).fill(-1);
    const charEndByte = new Int32Array(totalBytes + 1);
    let b = 0;
    let u = 0;
    while (u < text.length) {
      const cp = text.codePointAt(u)!;
      const units = cp > 0xffff ? 2 : 1;
      const len = utf8Length(cp);
      charStartU16[b] = u;
      for (let k = 0; k < len; k++) charEndByte[b + k] = b + len;
      b += len;
      u += units;
    }
    charStartU16[b] = u;
    charEndByte[b] = b;
    const spans: TokenSpan[] = [];
    let byte = 0;
    let prevEndU16 = 0;
    for (let i = 0; i < ids.length; i++) {
      const piece = tokens[i];
      const start = byte;
      const end = byte + this.pieceBytes(piece);
      if (end > totalBytes) throw new Error('tokenizer produced more bytes than the text holds (a normalizer changed the text?)');
      const endsOnBoundary = charStartU16[end] >= 0;
      const partial = !endsOnBoundary || charStartU16[start] < 0;
      const endU16 = endsOnBoundary ? charStartU16[end] : prevEndU16;
      spans.push({ id: ids[i], piece, start: prevEndU16, end: endU16, byteStart: start, byteEnd: end, partial });
      prevEndU16 = endU16;
      byte = end;
    }
    if (byte !== totalBytes) throw new Error(`tokens cover ${byte} of the text's ${totalBytes} bytes (a normalizer changed the text?)`);
    return { ids, spans };
  }
}
