// Hostile model folders opened as the extension opens them (src/model/openModelFolder.ts, no VS Code): every case ends
// in a clear refusal or a correct model, fast, without reading outside the folder or writing outside the cache; and
// the pure checks behind them (protobuf wire pass, JSON error position, manifest messages, weight scan) on their own.
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { MANIFEST_LIMITS, parseManifest } from '../../src/core/manifest';
import { GraphModel } from '../../src/core/onnx/graphModel';
import { checkWeights } from '../../src/core/onnx/weightCheck';
import { WIRE_LIMITS, WireError, checkWire } from '../../src/core/onnx/wireCheck';
import { TextTokenizer } from '../../src/core/tokenizer';
import { openModelFolder, openModelFolderInWorker } from '../../src/model/openModelFolder';
import { PackageError } from '../../src/model/packageError';
import { jsonErrorOffset, parseJsonFile } from '../../src/model/safeFiles';
import { AttentionEngine } from '../../webview/engine/engine';
import { HOSTILE_CASES, SECRET, baseTiny } from '../fixtures/hostileModels';

ort.env.wasm.numThreads = 1;
const REPO = process.cwd();

/** Every path under `dir` (links not followed) with its kind, size and mtime: a write anywhere shows as a change. */
function tree(dir: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (p === skip) continue;
      const s = lstatSync(p);
      out.set(p, `${s.isSymbolicLink() ? 'l' : s.isDirectory() ? 'd' : 'f'}:${s.size}:${s.mtimeMs}`);
      if (s.isDirectory() && !s.isSymbolicLink()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** The table for the README, written by this test from the messages the cases really produce. */
const table: { title: string; outcome: string; message: string }[] = [];

test(`${HOSTILE_CASES.length} hostile model folders: each is refused with a clear message, or opens with correct attention`, async (t) => {
  assert.ok(HOSTILE_CASES.length >= 20);
  const root = mkdtempSync(join(tmpdir(), 'ai-hostile-'));
  const cache = join(root, 'cache');
  const opts = { cacheRoot: cache, maxBytes: 64 * 2 ** 20, limitSetting: 'attentionInspector.maxModelSizeMB' };
  try {
    for (const c of HOSTILE_CASES) {
      await t.test(c.title, async () => {
        const dir = c.build(root, REPO);
        const before = tree(root, cache);
        const t0 = performance.now();
        let message = '';
        if (c.refuses) {
          await assert.rejects(openModelFolder(dir, opts), (e: unknown) => {
            assert.ok(e instanceof PackageError, `a PackageError, not ${String(e)}`);
            message = e.message;
            assert.match(e.message, c.refuses!);
            assert.ok(!e.message.includes(SECRET.slice(0, 12)) && !e.message.includes('SECRET'), 'no byte of a file outside the folder');
            return true;
          });
        } else {
          const p = await openModelFolder(dir, opts);
          message = p.notes.join('; ') || `(opens: ${p.id})`;
          if (c.note) assert.match(p.notes.join('\n'), c.note);
          if (c.tiny) {
            const tok = new TextTokenizer(JSON.parse(readFileSync(p.pkg.tokenizerPath, 'utf8')));
            const ids = tok.encode('def f(x):\n    return x + 1  # the answer\n').ids;
            const engine = await AttentionEngine.create(ort, p.pkg.manifest, readFileSync(p.pkg.onnxPath), 'wasm');
            try {
              const a = await engine.analyze(ids);
              const ref = c.tiny().reference(ids);
              const q = ids.length - 1;
              const rows = await a.rows(q);
              for (let l = 0; l < ref.rows.length; l++) for (let h = 0; h < ref.rows[l].length; h++) {
                const got = rows.layers[l].heads[h].a;
                for (let j = 0; j <= q; j++) assert.ok(Math.abs(got[j] - ref.rows[l][h][q][j]) < 1e-5, `layer ${l} head ${h} key ${j}`);
              }
            } finally {
              await engine.release();
            }
          }
        }
        const ms = performance.now() - t0;
        if (c.withinMs) assert.ok(ms < c.withinMs, `took ${ms.toFixed(0)} ms, more than ${c.withinMs} ms`);
        assert.deepEqual(tree(root, cache), before, 'nothing written outside the cache');
        table.push({ title: c.title, outcome: c.outcome, message: message.split(root).join('<dir>') });
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  if (process.env.ATTN_HOSTILE_TABLE) {
    const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');
    const lines = ['| Case | Outcome | Message shown (exact text) |', '| --- | --- | --- |', ...table.map((r) => `| ${esc(r.title)} | ${esc(r.outcome)} | ${esc(r.message)} |`)];
    (await import('node:fs')).writeFileSync(process.env.ATTN_HOSTILE_TABLE, lines.join('\n') + '\n');
  }
});

test('the worker the extension uses refuses a hostile folder the same way, and its heap is bounded', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ai-hostile-'));
  try {
    const c = HOSTILE_CASES.find((x) => x.title.startsWith('protobuf nested'))!;
    const dir = c.build(root, REPO);
    await assert.rejects(openModelFolderInWorker('./dist/openModelWorker.js', dir, { cacheRoot: join(root, 'cache'), maxBytes: 64 * 2 ** 20, limitSetting: 'x' }), (e: Error & { problems?: string[] }) => e.problems?.length === 1 && c.refuses!.test(e.message));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('protobuf wire pass: lengths, depth and counts are bounded before decoding; a real model passes', () => {
  const good = baseTiny().onnx;
  const r = checkWire(good);
  assert.ok(r.nodes > 10 && r.depth >= 4 && r.depth < 10, JSON.stringify(r));
  // Every strict prefix of a valid model is refused (never read past its end), and fast.
  const t0 = performance.now();
  for (let n = 1; n < good.length; n += Math.max(1, Math.floor(good.length / 300))) {
    assert.throws(() => checkWire(good.subarray(0, n)), WireError, `prefix of ${n} bytes`);
  }
  assert.ok(performance.now() - t0 < 2000);
  assert.throws(() => checkWire(Uint8Array.of(0x1b)), /field 3 uses protobuf groups/); // producer_name (3) as a group
  assert.throws(() => checkWire(Uint8Array.of(0x38, 0x01)), /should hold a message but has wire type 0/); // graph as a varint
  assert.throws(() => checkWire(Uint8Array.of(0x00)), /field number 0/);
  assert.throws(() => checkWire(Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), /longer than 10 bytes/);
  assert.equal(WIRE_LIMITS.depth, 100);
  // GraphModel refuses before protobufjs runs: an empty file, and a nested bomb.
  assert.throws(() => new GraphModel(new Uint8Array(0)), /the file is empty/);
});

test('JSON syntax errors give a line and column, never the text', () => {
  assert.equal(jsonErrorOffset('{"a": 1}'), -1);
  assert.equal(jsonErrorOffset('[1, 2, {"x": [true, null, "s\\n"]}]'), -1);
  assert.equal(jsonErrorOffset('{"a": 1,}'), 8);
  assert.equal(jsonErrorOffset('{"a": 1'), 7);
  assert.equal(jsonErrorOffset('root:x:0:0'), 0);
  assert.equal(jsonErrorOffset('['.repeat(1_000_000)), 1_000_000, 'a million [ without overflowing the stack');
  for (const s of ['{"a": 1} x', '{"a": tru}', '"\\q"', '{"a" 1}', '[1 2]', '{1: 2}', '01']) {
    let threw = false;
    try {
      JSON.parse(s);
    } catch {
      threw = true;
    }
    assert.ok(threw && jsonErrorOffset(s) >= 0, s);
  }
  assert.throws(() => parseJsonFile(Buffer.from(`${SECRET}\n`), '/m/tokenizer.json', 'a tokenizer'), (e: Error) => e.message === '/m/tokenizer.json: not valid JSON at line 1, column 1; expected a tokenizer');
  assert.throws(() => parseJsonFile(Buffer.from('{\n  "a": 1,\n  "b": SECRET\n}'), '/m/x.json', 'x'), (e: Error) => e.message === '/m/x.json: not valid JSON at line 3, column 8; expected x');
});

test('manifest messages say the file, the field, what was found and what is expected', () => {
  const m = JSON.parse(readFileSync('media/models/twin-softmax/manifest.json', 'utf8'));
  const errs = (edit: Record<string, unknown>) => {
    const r = parseManifest({ ...m, ...edit });
    assert.ok(!r.ok);
    return r.errors;
  };
  assert.deepEqual(errs({ headDim: 1.5 }).slice(0, 1), ['manifest.json: headDim is 1.5; expected a whole number from 1 to 4096 (the width of one attention head)']);
  assert.deepEqual(errs({ layers: 5_000_000 }), [`manifest.json: layers is 5000000, over the limit of ${MANIFEST_LIMITS.layers} (the number of layers); no model the inspector can run is that large`]);
  assert.deepEqual(errs({ formatVersion: 2 }), ['manifest.json: formatVersion is 2; expected 1 (the manifest format version)']);
  assert.deepEqual(errs({ colour: 'red' }), ['manifest.json: (the whole file) has a field the manifest format does not know: "colour" (remove it, or check the spelling)']);
  const { files: _f, ...noFiles } = m;
  void _f;
  const r = parseManifest(noFiles);
  assert.ok(!r.ok && r.errors.includes('manifest.json: files is missing; expected an object'));
  assert.ok(errs({ description: 'x'.repeat(20_000) })[0].includes('description is 20000 characters long, more than the limit of 10000'));
  assert.ok(errs({ name: 'y'.repeat(5000) }).every((e) => e.length < 300), 'a long value is never quoted whole');
  const tooMany = errs({ layers: 'a', heads: 'b', qkHeads: 'c', headDim: 'd', dModel: 'e', vocabSize: 'f', maxContext: 'g', scale: 'h', parameters: 'i', attention: 'j', pairing: 'k' });
  assert.ok(tooMany.length >= 10 && tooMany.length <= 20);
});

test('weight scan: NaN and ∞ found at any byte alignment; infinite mask constants are a note, not a refusal', () => {
  const g = new GraphModel(baseTiny().onnx);
  assert.deepEqual(checkWeights(g), { errors: [], notes: [] });
  // A weight whose bytes start at an odd offset in the file (protobufjs hands out views): counted all the same.
  const w = g.initializers.get('h.1.c_attn.w')!;
  const bytes = new Uint8Array(w.raw_data!.byteLength + 1);
  bytes.set(w.raw_data!, 1);
  const odd = bytes.subarray(1);
  new DataView(odd.buffer, odd.byteOffset).setFloat32(8, Number.NaN, true);
  new DataView(odd.buffer, odd.byteOffset).setFloat32(odd.byteLength - 4, Number.POSITIVE_INFINITY, true);
  w.raw_data = odd;
  const r = checkWeights(g);
  assert.equal(r.errors.length, 1);
  assert.match(r.errors[0], /weight "h\.1\.c_attn\.w" holds 1 NaN and 1 infinite values \(of 768\)/);
});
