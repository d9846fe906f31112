import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TextTokenizer, type TokenSpan } from '../../src/core/tokenizer';

// Ids written by the Python encoder that produced the training data (python3 training/bpe.py fixtures ...).
const fixtures: { cases: { name: string; text: string; ids: number[] }[] } = JSON.parse(readFileSync('test/fixtures/tokenizer/cases.json', 'utf8'));
const tokenizerJson = JSON.parse(readFileSync('media/models/twin-diff/tokenizer.json', 'utf8'));
const tok = new TextTokenizer(tokenizerJson);
const utf8 = new TextEncoder();

function assertTiles(text: string, spans: TokenSpan[]): void {
  let u16 = 0;
  let byte = 0;
  for (const s of spans) {
    assert.equal(s.start, u16, `span ${JSON.stringify(s)} starts where the previous ended`);
    assert.ok(s.end >= s.start);
    assert.equal(s.byteStart, byte);
    u16 = s.end;
    byte = s.byteEnd;
  }
  assert.equal(u16, text.length, 'spans end at the end of the text');
  assert.equal(byte, utf8.encode(text).length);
}

for (const c of fixtures.cases) {
  test(`tokenizer: TypeScript ids equal Python's and ranges tile the text (${c.name})`, () => {
    const { ids, spans } = tok.encode(c.text);
    assert.deepEqual(ids, c.ids);
    assertTiles(c.text, spans);
    // A span that holds whole characters holds exactly the bytes its token stands for.
    const bytes = utf8.encode(c.text);
    for (const s of spans) {
      if (s.partial) continue;
      assert.deepEqual(utf8.encode(c.text.slice(s.start, s.end)), bytes.slice(s.byteStart, s.byteEnd), `span ${s.piece}`);
    }
  });
}

test('tokenizer: the fixtures cover the hard cases the issue names', () => {
  const all = fixtures.cases.map((c) => c.text).join('');
  for (const needle of ['\u{1FAE5}', '\u200D', '\u{1F1EB}\u{1F1F7}', '\r\n', '\t', '\u0301', 'ש', 'م']) assert.ok(all.includes(needle), JSON.stringify(needle));
});

test('tokenizer: an emoji split into byte tokens is covered by exactly one non-empty span, the others are partial and empty', () => {
  const text = 'a\u{1FAE5}b';
  const { spans } = tok.encode(text);
  assertTiles(text, spans);
  const inside = spans.filter((s) => s.byteStart >= 1 && s.byteEnd <= 5);
  assert.ok(inside.length >= 1);
  const nonEmpty = spans.filter((s) => s.start < 3 && s.end > 1);
  assert.equal(nonEmpty.length, 1, 'one span holds the emoji');
  assert.equal(text.slice(nonEmpty[0].start, nonEmpty[0].end).includes('\u{1FAE5}'), true);
  if (inside.length > 1) assert.ok(inside.every((s) => s.partial));
});

test('tokenizer: lone surrogates, NUL and an empty string still tile', () => {
  for (const text of ['x\uD800y', '\uDC00', 'a\u0000b', '']) {
    const { spans } = tok.encode(text);
    assertTiles(text, spans);
  }
});

test('tokenizer: a non-byte-level tokenizer is refused with a message', () => {
  assert.throws(() => new TextTokenizer({ model: { type: 'WordPiece' }, pre_tokenizer: null }), /only byte-level BPE/);
  assert.throws(() => new TextTokenizer({ model: { type: 'BPE' }, pre_tokenizer: { type: 'Metaspace' } }), /pre_tokenizer "Metaspace".*SentencePiece/);
});

test('tokenizer: a Sequence of Split and ByteLevel pre-tokenizers (the Llama 3 / Qwen layout) gives the same ids and ranges as ByteLevel alone', () => {
  const json = JSON.parse(readFileSync('media/models/twin-diff/tokenizer.json', 'utf8'));
  const gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  const seq = {
    ...json,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: gpt2 }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
  };
  const text = "def f(x):\r\n    return x + 1  # héllo 🫥 日本語 it's";
  const [a, b] = [new TextTokenizer(json).encode(text), new TextTokenizer(seq).encode(text)];
  assert.deepEqual(b.ids, a.ids);
  assert.deepEqual(b.spans.map((s) => [s.start, s.end]), a.spans.map((s) => [s.start, s.end]));
});
