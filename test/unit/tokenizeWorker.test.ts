// The tokenizer worker (src/analysis/tokenizeWorker.ts, bundled to dist/tokenizeWorker.js by the build) gives the same
// window, ids and UTF-16 spans as tokenizing in the thread, and the calling thread's event loop keeps running meanwhile.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, test } from 'node:test';
import { TokenizerClient } from '../../src/analysis/tokenizeClient';
import { chooseWindow } from '../../src/core/textWindow';
import { TextTokenizer } from '../../src/core/tokenizer';

const tokPath = join(process.cwd(), 'media/models/twin-diff/tokenizer.json');
const tok = new TextTokenizer(JSON.parse(readFileSync(tokPath, 'utf8')));
const client = new TokenizerClient(join(process.cwd(), 'dist/tokenizeWorker.js'));
after(() => client.dispose());

const texts: Record<string, { text: string; cursor: number }> = {
  'emoji, ZWJ, flags, CRLF, RTL, lone surrogates': { text: 'a 🫥 b 👩‍👩‍👧 🇩🇪🇫🇷\r\nשלום עולם مرحبا\r\n\uD800 x \uDC00 y e\u0301\r\n'.repeat(40), cursor: 300 },
  '1 MB single line': { text: 'const x = [1, 2, 3].map((v) => v * 2); '.repeat(27000), cursor: 500_000 },
  'many short lines, cursor near the end': { text: 'def f(x):\n    return x + 1\n'.repeat(9000), cursor: 240_000 },
};
for (const [name, { text, cursor }] of Object.entries(texts)) {
  test(`tokenizer worker: the window, ids and spans equal tokenizing in the thread (${name})`, async () => {
    const want = chooseWindow(text, cursor, 2048, (s) => tok.encode(s));
    const got = await client.window(tokPath, text, cursor, 2048);
    assert.equal(got.start, want.start);
    assert.equal(got.end, want.end);
    assert.equal(got.partial, want.partial);
    assert.deepEqual(got.ids, want.encoded.ids);
    assert.deepEqual(got.spans, want.encoded.spans);
    assert.ok(got.ids.length <= 2048);
    // The spans tile the window: document offsets stay right.
    assert.equal(got.spans[0].start, 0);
    assert.equal(got.spans.at(-1)!.end, got.end - got.start);
  });
}

test('tokenizer worker: tokenizing 200k tokens leaves the calling thread free (event-loop delay stays small)', async () => {
  const text = readFileSync('src/inspector/inspector.ts', 'utf8').repeat(25);
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  const all = await client.all(tokPath, text);
  const ms = performance.now() - t0;
  h.disable();
  assert.ok(all.ids.length > 200_000, `${all.ids.length} tokens`);
  assert.deepEqual(all.ids.slice(0, 500), tok.encode(text.slice(0, all.spans[499].end)).ids);
  const maxMs = h.max / 1e6;
  // 250 ms: generous on a shared 2-core machine; tokenizing this text in the thread takes several hundred ms to seconds.
  assert.ok(maxMs < 250, `longest event-loop delay ${maxMs.toFixed(0)} ms while the worker tokenized for ${ms.toFixed(0)} ms`);
  // Over a limit only the count comes back.
  const counted = await client.all(tokPath, text, 2048);
  assert.equal(counted.count, all.ids.length);
  assert.deepEqual([counted.ids.length, counted.spans.length], [0, 0]);
});

test('tokenizer worker: a tokenizer that cannot be used is refused with its reason, and the worker keeps serving', async () => {
  await assert.rejects(client.window('/nonexistent/tokenizer.json', 'abc', 0, 16), /ENOENT|no such file/);
  const ok = await client.window(tokPath, 'hello world', 0, 16);
  assert.ok(ok.ids.length > 0);
});
