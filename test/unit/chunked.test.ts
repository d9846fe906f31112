// Chunked prefill (webview/engine/chunkedRun.ts) against a single pass over the same graph: the bundled twins take a
// key/value cache, and feeding the text in chunks must give the same logits, Q/K, λ, value norms and rows as one
// chunk holding the whole text; cancellation mid-run and a failing chunk leave the engine usable and nothing held.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { parseManifest, type Manifest } from '../../src/core/manifest';
import { surprisalFromLogits } from '../../src/core/surprisal';
import { AttentionEngine, CancelledError, chunkTokensFor, singlePassTokenLimit, type ChunkProgress } from '../../webview/engine/engine';
import { chunkedHoldings } from '../../webview/engine/chunkedRun';
import { maxAbsDiff } from '../../src/core/probe';

ort.env.wasm.numThreads = 1;

function load(pkg: string): { m: Manifest; onnx: Uint8Array } {
  const r = parseManifest(JSON.parse(readFileSync(`media/models/${pkg}/manifest.json`, 'utf8')));
  assert.ok(r.ok);
  return { m: r.manifest, onnx: readFileSync(`media/models/${pkg}/model.onnx`) };
}

/** The largest |value| of a tensor, at least 1: what a tolerance of "1e-5" is relative to. */
const scaleOf = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 1);

const idsOf = (T: number, V: number) => Array.from({ length: T }, (_, i) => (i * 7919 + 13 * (i >> 3)) % V);

test('chunked prefill (wasm): chunks of 1, 7, 64 and 199 tokens give the logits, Q/K, λ, value-weighted rows, rows and surprisal of one pass (1e-5)', async () => {
  for (const pkg of ['twin-diff', 'twin-softmax']) {
    const { m, onnx } = load(pkg);
    assert.ok(m.cache, `${pkg} takes a key/value cache`);
    const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
    try {
      const T = 200;
      const ids = idsOf(T, m.vocabSize);
      engine.chunkTokens = T;
      const one = await engine.analyze(ids);
      const ref = { logits: (await one.logits()).slice(), q: [] as Float32Array[], k: [] as Float32Array[], vn: [] as Float32Array[], rows: await one.rows(T - 1), mid: await one.rows(100), lambdas: [] as (number | undefined)[] };
      for (let l = 0; l < m.layers; l++) {
        const { q, k } = await one.qkTensors(l);
        ref.q.push(q.data.slice());
        ref.k.push(k.data.slice());
        ref.vn.push(Float32Array.from([...(await one.valueWeighted(l, 0, T - 1)), ...(await one.valueWeighted(l, m.heads - 1, 150))]));
        ref.lambdas.push(await one.lambda(l));
      }
      const fromLogits = surprisalFromLogits(ref.logits, ids, m.vocabSize);
      for (const chunk of [1, 7, 64, 199]) {
        engine.chunkTokens = chunk;
        const seen: ChunkProgress[] = [];
        const a = await engine.analyze(ids, (p) => seen.push(p));
        assert.equal(seen.length, Math.ceil(T / chunk), `${pkg}: one progress report per chunk`);
        assert.deepEqual(seen.at(-1), { done: T, total: T, chunk: seen.length, chunks: seen.length });
        assert.ok(maxAbsDiff(await a.logits(), ref.logits) < 1e-4, `${pkg} chunk ${chunk}: logits`);
        const s = await a.surprisal(ids);
        assert.ok(Number.isNaN(s[0]));
        assert.ok(maxAbsDiff(s.subarray(1), fromLogits.subarray(1)) < 1e-4, `${pkg} chunk ${chunk}: surprisal`);
        for (let l = 0; l < m.layers; l++) {
          const { q, k } = await a.qkTensors(l);
          assert.deepEqual(q.dims, [1, m.qkHeads, T, m.headDim]);
          // 1e-5 of the tensor's scale: chunks change the order of float32 sums, and a trained model's Q/K reach ~10.
          assert.ok(maxAbsDiff(q.data, ref.q[l]) < 1e-5 * scaleOf(ref.q[l]), `${pkg} chunk ${chunk}: q of layer ${l} differs by ${maxAbsDiff(q.data, ref.q[l])} (scale ${scaleOf(ref.q[l])})`);
          assert.ok(maxAbsDiff(k.data, ref.k[l]) < 1e-5 * scaleOf(ref.k[l]), `${pkg} chunk ${chunk}: k of layer ${l} differs by ${maxAbsDiff(k.data, ref.k[l])} (scale ${scaleOf(ref.k[l])})`);
          assert.ok(maxAbsDiff(Float32Array.from([...(await a.valueWeighted(l, 0, T - 1)), ...(await a.valueWeighted(l, m.heads - 1, 150))]), ref.vn[l]) < 1e-5, `${pkg} chunk ${chunk}: value-weighted rows of layer ${l}`);
          assert.equal(await a.lambda(l), ref.lambdas[l]);
        }
        for (const [query, want] of [[T - 1, ref.rows], [100, ref.mid]] as const) {
          const rows = await a.rows(query);
          rows.layers.forEach((layer, l) => layer.heads.forEach((h, j) => assert.ok(maxAbsDiff(h.a, want.layers[l].heads[j].a) < 1e-5, `${pkg} chunk ${chunk}: row ${query}, layer ${l} head ${j}`)));
        }
      }
    } finally {
      await engine.release();
    }
  }
});

test('chunked prefill: a newer analysis cancels a running one between chunks, which frees what it held', async () => {
  const { m, onnx } = load('twin-diff');
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    engine.chunkTokens = 16;
    const ids = idsOf(400, m.vocabSize);
    let second: Promise<unknown> | undefined;
    const first = engine.analyze(ids, (p) => {
      if (p.chunk === 3) second = engine.analyze(ids.slice(0, 40));
    });
    await assert.rejects(first, CancelledError);
    const a = (await second) as Awaited<ReturnType<AttentionEngine['analyze']>>;
    assert.equal(a.tokens, 40);
    assert.equal(chunkedHoldings.count, 0, 'the cancelled run holds no cache or gathered output');
    assert.equal(engine.liveAnalyses, 1);
    assert.equal((await a.rows(39)).layers.length, m.layers);
  } finally {
    await engine.release();
  }
});

test('chunked prefill: a chunk that fails in ONNX Runtime ends in an error that names it, frees what the run held, and the engine stays usable', async () => {
  // A package whose graph has RoPE tables for 64 positions while its manifest claims 100 (exported for this test):
  // the fifth chunk of 16 tokens (positions 64–79) makes ORT's Gather fail.
  const dir = mkdtempSync(join(tmpdir(), 'ai-chunk-'));
  try {
    const r = spawnSync(process.env.ATTN_PYTHON ?? '/usr/bin/python3', ['training/export_model.py', 'ours', '--package', 'media/models/twin-softmax', '--out', dir, '--max-context', '64'], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.equal(json.maxContext, 64);
    const parsed = parseManifest({ ...json, maxContext: 100 });
    assert.ok(parsed.ok);
    const engine = await AttentionEngine.create(ort, parsed.manifest, readFileSync(join(dir, 'model.onnx')), 'wasm');
    try {
      engine.chunkTokens = 16;
      const ids = idsOf(90, json.vocabSize);
      await assert.rejects(engine.analyze(ids), (e: Error) => {
        assert.match(e.message, /^chunk 5 of 6 \(tokens 64–79\) failed in ONNX Runtime: /);
        return true;
      });
      assert.equal(chunkedHoldings.count, 0);
      assert.equal(engine.liveAnalyses, 0);
      const a = await engine.analyze(ids.slice(0, 50));
      assert.equal(a.tokens, 50);
      assert.equal((await a.surprisal(ids.slice(0, 50))).length, 50);
    } finally {
      await engine.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a graph without a key/value cache is limited to what one pass of T² attention can hold; a manifest that leaves graph inputs unfed is refused with their names', async () => {
  const { m, onnx } = load('twin-softmax');
  const { cache: _, ...single } = m;
  const manifest = { ...single, inputs: { ids: m.inputs.ids } } as Manifest;
  assert.equal(singlePassTokenLimit(manifest), 5792, '2 GiB over 4 tensors of 4 heads × T² floats');
  const engine = await AttentionEngine.create(ort, manifest, onnx, 'wasm').catch((e: Error) => e);
  // The bundled graph needs its cache inputs: a manifest that hides them is refused with their names.
  assert.ok(engine instanceof Error);
  assert.match(engine.message, /takes inputs "position_ids", "past_key_0", "past_value_0", "past_key_1", "past_value_1" and 4 more that the manifest does not declare/);
});

test('chunk size: 512 tokens up to 2,048, then halved as T doubles (each attention tensor ≤ 16 MiB), never under 64', () => {
  assert.deepEqual([100, 1024, 2048, 4096, 8192, 16384, 65536].map((T) => chunkTokensFor(T, 4)), [512, 512, 512, 256, 128, 64, 64]);
  assert.equal(chunkTokensFor(2048, 32), 64, 'more heads, smaller chunks');
});

test('chunked prefill: logits too long to keep are reduced to surprisal chunk by chunk, equal to surprisal from the whole logits across chunk boundaries', async () => {
  const { m, onnx } = load('twin-softmax');
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    const T = 90;
    const ids = idsOf(T, m.vocabSize);
    engine.chunkTokens = T;
    const whole = surprisalFromLogits((await (await engine.analyze(ids)).logits()).slice(), ids, m.vocabSize);
    engine.chunkTokens = 16; // boundaries at 16, 32, 48, 64, 80
    engine.logitsKeepBytes = 0;
    const a = await engine.analyze(ids);
    const s = await a.surprisal(ids);
    assert.ok(Number.isNaN(s[0]));
    assert.ok(maxAbsDiff(s.subarray(1), whole.subarray(1)) < 1e-4);
    for (const b of [16, 32, 80]) assert.ok(Math.abs(s[b] - whole[b]) < 1e-4, `token ${b}, the first of a chunk, is predicted by the previous chunk's last row`);
    await assert.rejects(a.logits(), /the logits of 90 tokens were not kept \(a chunked run keeps them up to 64 MiB\); their surprisal was/);
  } finally {
    await engine.release();
  }
});

test('manifest: a cache cannot go with readFrom "probs" or a mask over the fed tokens only; a mask over past+token and a probs output (for the Q/K check) are accepted', () => {
  const base = JSON.parse(readFileSync('media/models/twin-diff/manifest.json', 'utf8'));
  assert.ok(parseManifest(base).ok);
  const probsOut = { ...base.outputs, probs: { name: 'probs_{layer}', layout: ['batch', 'qkHead', 'token', 'key'] } };
  const readProbs = parseManifest({ ...base, readFrom: 'probs', outputs: probsOut });
  assert.ok(!readProbs.ok && readProbs.errors.some((e) => /cache .*cannot be used with readFrom "probs"/.test(e)), JSON.stringify(readProbs));
  assert.ok(parseManifest({ ...base, outputs: probsOut }).ok, 'a probs output only serves the one-pass Q/K check');
  const maskOf = (dims: string[]) => parseManifest({ ...base, inputs: { ...base.inputs, extra: [...base.inputs.extra, { name: 'attention_mask', fill: 'ones', dtype: 'int64', dims }] } });
  const mask = maskOf(['batch', 'token']);
  assert.ok(!mask.ok && mask.errors.some((e) => /attention mask "attention_mask" to cover the cached tokens too: .*"past\+token"/.test(e)), JSON.stringify(mask));
  assert.ok(maskOf(['batch', 'past+token']).ok);
  const twoPast = parseManifest({ ...base, cache: { ...base.cache, key: { ...base.cache.key, dims: ['batch', 'past', 'past', 32] } } });
  assert.ok(!twoPast.ok && twoPast.errors.some((e) => /cache.key.dims .*"past" exactly once/.test(e)), JSON.stringify(twoPast));
});

