// Bring your own model: tiny ONNX models with random weights are rewritten by the extension's graph rewriter, run
// with onnxruntime-web (wasm, Node) through the real engine, and their attention is compared with an independent
// forward pass over the same weights in plain JavaScript (test/fixtures/tinyModels.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { parseManifest, type Manifest } from '../../src/core/manifest';
import { RewriteError, readHfConfig, rewriteForInspection } from '../../src/core/onnx/attentionRewrite';
import { AttentionEngine, probsTokenLimit, singlePassTokenLimit } from '../../webview/engine/engine';
import { diffSeparateTiny, diffV2Tiny, fusedTiny, gpt2Tiny } from '../fixtures/tinyModels';

ort.env.wasm.numThreads = 1;

const files = { onnx: 'model.onnx', tokenizer: 'tokenizer.json' };

function rewrite(onnx: Uint8Array, config: Record<string, unknown>, name: string): { m: Manifest; bytes: Uint8Array } {
  const r = rewriteForInspection(onnx, { name, displayName: name, sourcePath: `/models/${name}`, config: readHfConfig(config), tokenizerVocab: 10, files });
  const parsed = parseManifest(r.manifest);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('\n'));
  return { m: parsed.manifest, bytes: r.bytes };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test('a GPT-2-pattern graph is rewritten: layers, heads, scale and extra inputs read from it; every row equals the reference (1e-5)', async () => {
  const c = { vocab: 40, d: 16, heads: 4, layers: 3, maxT: 32, seed: 7 };
  const tiny = gpt2Tiny(c);
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'gpt2-tiny');
  assert.equal(m.attention, 'softmax');
  assert.equal(m.layers, 3);
  assert.equal(m.heads, 4);
  assert.equal(m.qkHeads, 4);
  assert.equal(m.headDim, 4);
  assert.ok(Math.abs(m.scale - 0.5) < 1e-7, `the Div by √4 between Q·Kᵀ and Softmax gives scale 0.5 (got ${m.scale})`);
  assert.deepEqual((m.inputs.extra ?? []).map((x) => [x.name, x.fill]), [['attention_mask', 'ones'], ['position_ids', 'positions']]);
  // Without config.json the heads come from the Reshape of Q.
  const bare = rewriteForInspection(tiny.onnx, { name: 'x', displayName: 'x', sourcePath: '/x', tokenizerVocab: 40, files });
  assert.equal((bare.manifest as { qkHeads: number }).qkHeads, 4);
  assert.equal((bare.manifest as { headDim: number }).headDim, 4);

  assert.equal(m.outputs.probs?.name, 'attention_inspector/probs_{layer}', 'the softmax outputs are exposed for the check');
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    const check = await engine.verify([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(check.readFrom, 'qk');
    assert.ok(check.maxError < 1e-5, `Q/K reproduce the graph's softmax (${check.maxError})`);
    const ids = [3, 17, 5, 5, 39, 0, 22, 8, 13, 1, 30, 9];
    const ref = tiny.reference(ids);
    const analysis = await engine.analyze(ids);
    for (let query = 0; query < ids.length; query++) {
      const rows = await analysis.rows(query);
      for (let l = 0; l < c.layers; l++) for (let h = 0; h < c.heads; h++) {
        const d = maxDiff(rows.layers[l].heads[h].a, ref.rows[l][h][query]);
        assert.ok(d < 1e-5, `layer ${l} head ${h} query ${query}: max |Δ| ${d}`);
      }
    }
    // Columns (attended by) and the pooled map come from the same Q/K.
    const cols = await analysis.columns(2, 4);
    for (let i = 0; i < ids.length; i++) assert.ok(Math.abs(cols[1][i] - ref.rows[2][1][i][4]) < 1e-5);
    const map = await analysis.map(1, 3);
    for (let i = 0; i < ids.length; i++) for (let j = 0; j < ids.length; j++) assert.ok(Math.abs(map.data[i * ids.length + j] - ref.rows[1][3][i][j]) < 1e-5);
    await assert.rejects(analysis.valueWeighted(0, 0, 3), /value norms/);
  } finally {
    await engine.release();
  }
});

test('a DIFF V2 graph is recognised (adjacent query pairs, λ per token and head) and its rows, λ and statistics equal the reference', async () => {
  const c = { vocab: 30, d: 16, heads: 4, layers: 2, maxT: 24, seed: 11 };
  const tiny = diffV2Tiny(c);
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'diff-v2-tiny');
  assert.equal(m.attention, 'diff-v2');
  assert.equal(m.pairing, 'adjacent-query');
  assert.equal(m.heads, 2);
  assert.equal(m.qkHeads, 4);
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    const ids = [1, 2, 29, 4, 4, 10, 7, 0, 18];
    const T = ids.length;
    const ref = tiny.reference(ids);
    const analysis = await engine.analyze(ids);
    for (let query = 0; query < T; query++) {
      const rows = await analysis.rows(query);
      for (let l = 0; l < c.layers; l++) for (let h = 0; h < 2; h++) {
        const head = rows.layers[l].heads[h];
        assert.ok(maxDiff(head.a, ref.rows[l][h][query]) < 1e-5, `layer ${l} pair ${h} query ${query}`);
        assert.ok(Math.abs(head.lambda! - ref.lambdas![l][h][query]) < 1e-6);
        let sum = 0;
        for (const v of head.a) sum += v;
        assert.ok(Math.abs(sum - (1 - head.lambda!)) < 1e-5, 'a DIFF row sums to 1 − λ of its own token');
      }
    }
    // Per-token λ reaches the kernels: every head's rows in the statistics sum to 1 − λ_i, and the columns match.
    for (const st of await analysis.stats(1)) assert.ok(st.maxRowSumError < 1e-5, `row-sum error ${st.maxRowSumError}`);
    const cols = await analysis.columns(0, 2);
    for (let i = 2; i < T; i++) assert.ok(Math.abs(cols[1][i] - ref.rows[0][1][i][2]) < 1e-5);
    const map = await analysis.map(1, 0);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) assert.ok(Math.abs(map.data[i * T + j] - ref.rows[1][0][i][j]) < 1e-5);
    const w = await analysis.whatIf(1, 1, T - 1);
    assert.ok(maxDiff(w.subarray(0, T), ref.rows[1][1][T - 1]) < 1e-5, 'the what-if views start from the model row, with this token\'s λ');
    const meanLambda = ref.lambdas![0].flatMap((row) => Array.from(row)).reduce((a, b) => a + b, 0) / (2 * T);
    assert.ok(Math.abs((await analysis.lambda(0))! - meanLambda) < 1e-5, 'the per-layer λ shown is the mean over heads and tokens');
    const roll = await analysis.rollout(T - 1, 'abs');
    assert.ok(Math.abs(roll.reduce((a, b) => a + b, 0) - 1) < 1e-4, 'rollout rows stay normalised');
  } finally {
    await engine.release();
  }
});

test('a fused attention operator is refused with a message that says why and how to export with eager attention', () => {
  const onnx = fusedTiny({ vocab: 20, d: 8, heads: 2, layers: 1, maxT: 16, seed: 3 });
  assert.throws(
    () => rewriteForInspection(onnx, { name: 'f', displayName: 'f', sourcePath: '/f', tokenizerVocab: 20, files }),
    (e: unknown) => e instanceof RewriteError && /fused operator com\.microsoft\.MultiHeadAttention/.test(e.message) && /attention weights never exist/.test(e.message) && /attn_implementation="eager"/.test(e.message),
  );
});

test('the rewritten model keeps the original graph byte for byte and only appends to it', () => {
  const tiny = gpt2Tiny({ vocab: 20, d: 8, heads: 2, layers: 1, maxT: 16, seed: 5 });
  const { bytes } = rewrite(tiny.onnx, tiny.config, 'g');
  assert.ok(bytes.length > tiny.onnx.length);
  assert.equal(Buffer.compare(Buffer.from(bytes.subarray(0, tiny.onnx.length)), Buffer.from(tiny.onnx)), 0);
});

test('bytes that are not ONNX, weights changed after the softmax, and a config.json that disagrees with the graph are refused with the reason', () => {
  const tiny = gpt2Tiny({ vocab: 20, d: 8, heads: 2, layers: 1, maxT: 16, seed: 5 });
  assert.throws(() => rewriteForInspection(new Uint8Array([1, 2, 3, 4, 5]), { name: 'x', displayName: 'x', sourcePath: '/x', tokenizerVocab: 20, files }), /not an ONNX model|no token-id input|no graph/);
  // Weights changed after the softmax (not a DIFF pattern the rewriter knows) would be shown wrongly: refused.
  const reweighted = gpt2Tiny({ vocab: 20, d: 8, heads: 2, layers: 1, maxT: 16, seed: 5 }, { reweight: true });
  assert.throws(() => rewrite(reweighted.onnx, reweighted.config, 'g'), /go through Mul .* before they mix the values/);
  // A config that disagrees with the graph is named.
  assert.throws(() => rewrite(tiny.onnx, { ...tiny.config, n_layer: 5 }, 'g'), /config\.json says 5 layers but the graph has 1/);
});

test('a bias the rewriter cannot see (ALiBi added to the logits): the check finds Q/K wrong, and attention is read from the softmax outputs, equal to the reference', async () => {
  const c = { vocab: 40, d: 16, heads: 4, layers: 2, maxT: 32, seed: 13 };
  const tiny = gpt2Tiny(c, { alibi: true });
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'alibi-tiny');
  assert.equal(m.readFrom, undefined, 'statically the graph looks like Q/K attention with a mask');
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    const check = await engine.verify([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(check.readFrom, 'probs');
    assert.ok(check.maxError > 1e-2, `Q/K alone miss the bias (${check.maxError})`);
    assert.equal(engine.readFrom, 'probs');
    assert.equal(engine.tokenLimit, Math.min(32, probsTokenLimit(m)));
    const ids = [3, 17, 5, 5, 39, 0, 22, 8, 13, 1, 30, 9];
    const T = ids.length;
    const ref = tiny.reference(ids);
    const a = await engine.analyze(ids);
    for (const query of [0, 5, T - 1]) {
      const rows = await a.rows(query);
      for (let l = 0; l < c.layers; l++) for (let h = 0; h < c.heads; h++) assert.ok(maxDiff(rows.layers[l].heads[h].a, ref.rows[l][h][query]) < 1e-5, `layer ${l} head ${h} query ${query}`);
    }
    const cols = await a.columns(1, 3);
    for (let i = 0; i < T; i++) assert.ok(Math.abs(cols[2][i] - ref.rows[1][2][i][3]) < 1e-5);
    const map = await a.map(0, 1);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) assert.ok(Math.abs(map.data[i * T + j] - ref.rows[0][1][i][j]) < 1e-5);
    const pooled = await a.map(0, 1, 5);
    assert.equal(pooled.cells, 5);
    for (const st of await a.stats(1)) assert.ok(st.maxRowSumError < 1e-5 && st.entropyA1 > 0);
    const roll = await a.rollout(T - 1, 'positive');
    assert.ok(Math.abs(roll.reduce((x, y) => x + y, 0) - 1) < 1e-4);
    await assert.rejects(a.whatIf(0, 0, 3), /what-if views need the attention logits/);
  } finally {
    await engine.release();
  }
});

test('full maps are limited to what fits in 256 MB: 682 tokens for GPT-2 small (12 layers × 12 heads)', () => {
  assert.equal(probsTokenLimit({ layers: 12, qkHeads: 12, maxContext: 1024 }), 682);
  assert.equal(probsTokenLimit({ layers: 2, qkHeads: 2, maxContext: 256 }), 256);
});

test('an export "with past" (past_key_values inputs concatenated before the new keys) is fed an empty cache and matches the reference', async () => {
  const c = { vocab: 40, d: 16, heads: 2, layers: 2, maxT: 32, seed: 17 };
  const tiny = gpt2Tiny(c, { past: true });
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'past-tiny');
  assert.deepEqual(m.inputs.extra?.filter((x) => x.fill === 'empty').map((x) => [x.name, x.dims.join(',')]), [
    ['past_key_values.0.key', 'batch,2,past,8'],
    ['past_key_values.0.value', 'batch,2,past,8'],
    ['past_key_values.1.key', 'batch,2,past,8'],
    ['past_key_values.1.value', 'batch,2,past,8'],
  ]);
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    assert.equal((await engine.verify([1, 2, 3, 4, 5])).readFrom, 'qk');
    const ids = [5, 9, 1, 33, 2, 2, 8];
    const ref = tiny.reference(ids);
    const rows = await (await engine.analyze(ids)).rows(ids.length - 1);
    for (let l = 0; l < c.layers; l++) for (let h = 0; h < c.heads; h++) assert.ok(maxDiff(rows.layers[l].heads[h].a, ref.rows[l][h][ids.length - 1]) < 1e-5);
  } finally {
    await engine.release();
  }
});

test('an export with a key/value cache (present outputs, a mask over past + fed tokens) is fed in chunks: chunks of 1, 3 and 7 give the logits and Q/K of one pass (1e-5) and the reference rows', async () => {
  const c = { vocab: 40, d: 16, heads: 2, layers: 2, maxT: 48, seed: 23 };
  const tiny = gpt2Tiny(c, { cache: true });
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'cache-tiny');
  assert.deepEqual(m.cache, {
    key: { past: 'past_key_values.{layer}.key', present: 'present.{layer}.key', dtype: 'float32', dims: ['batch', 2, 'past', 8] },
    value: { past: 'past_key_values.{layer}.value', present: 'present.{layer}.value', dtype: 'float32', dims: ['batch', 2, 'past', 8] },
  });
  assert.deepEqual(m.inputs.extra?.map((x) => [x.name, x.fill, x.dims.join(',')]), [['attention_mask', 'ones', 'batch,past+token'], ['position_ids', 'positions', 'batch,token']]);
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    const checked = await engine.verify(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % c.vocab));
    assert.deepEqual([checked.readFrom, checked.chunked, checked.cacheNote], ['qk', true, undefined]);
    assert.equal(engine.tokenLimit, c.maxT, 'with a cache the limit is the model\'s context, not one pass\'s memory');
    const ids = Array.from({ length: 29 }, (_, i) => (i * 11 + 5) % c.vocab);
    engine.chunkTokens = ids.length;
    const one = await engine.analyze(ids);
    const ref = { logits: (await one.logits()).slice(), q: [] as Float32Array[], k: [] as Float32Array[] };
    for (let l = 0; l < c.layers; l++) {
      const { q, k } = await one.qkTensors(l);
      ref.q.push(q.data.slice());
      ref.k.push(k.data.slice());
    }
    const want = tiny.reference(ids);
    for (const chunk of [1, 3, 7]) {
      engine.chunkTokens = chunk;
      const a = await engine.analyze(ids);
      assert.ok(maxDiff(await a.logits(), ref.logits) < 1e-4, `chunk ${chunk}: logits`);
      for (let l = 0; l < c.layers; l++) {
        const { q, k } = await a.qkTensors(l);
        assert.deepEqual(k.dims, [1, c.heads, ids.length, c.d / c.heads], 'K holds the fed tokens only, gathered over the chunks');
        assert.ok(maxDiff(q.data, ref.q[l]) < 1e-5 && maxDiff(k.data, ref.k[l]) < 1e-5, `chunk ${chunk}: q, k of layer ${l}`);
      }
      for (const query of [ids.length - 1, 12]) {
        const rows = await a.rows(query);
        for (let l = 0; l < c.layers; l++) for (let h = 0; h < c.heads; h++) assert.ok(maxDiff(rows.layers[l].heads[h].a, want.rows[l][h][query]) < 1e-5, `chunk ${chunk}: row ${query}, layer ${l} head ${h}`);
      }
    }
  } finally {
    await engine.release();
  }
});

test('a cache whose chunks do not reproduce one pass (the graph numbers positions itself) is not used: the engine says why and keeps the one pass', async () => {
  const c = { vocab: 40, d: 16, heads: 2, layers: 2, maxT: 48, seed: 29 };
  const tiny = gpt2Tiny(c, { cache: 'own-positions' });
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'own-positions-tiny');
  assert.ok(m.cache, 'the rewriter finds the cache');
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    const checked = await engine.verify(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % c.vocab));
    assert.equal(checked.readFrom, 'qk');
    assert.equal(checked.chunked, false);
    assert.match(checked.cacheNote ?? '', /key\/value cache was not used: run in chunks, its output "(logits|attention_inspector\/[qk]_\d)" differed from one pass by .*positions/);
    assert.equal(engine.tokenLimit, Math.min(c.maxT, singlePassTokenLimit(m)));
    const ids = Array.from({ length: 20 }, (_, i) => (i * 13 + 1) % c.vocab);
    const want = tiny.reference(ids);
    const rows = await (await engine.analyze(ids)).rows(ids.length - 1);
    for (let l = 0; l < c.layers; l++) for (let h = 0; h < c.heads; h++) assert.ok(maxDiff(rows.layers[l].heads[h].a, want.rows[l][h][ids.length - 1]) < 1e-5, 'the one pass is right');
  } finally {
    await engine.release();
  }
});

test('a DIFF V1 graph in the reference code\'s pattern (one λ per layer from its parameters) is recognised as diff-v1 with interleaved pairs, and matches the reference', async () => {
  const c = { vocab: 30, d: 16, heads: 4, layers: 2, maxT: 24, seed: 19 };
  const tiny = diffV2Tiny(c, { v1: true });
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'diff-v1-tiny');
  assert.equal(m.attention, 'diff-v1');
  assert.equal(m.pairing, 'interleaved');
  assert.equal(m.heads, 2);
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    const ids = [4, 8, 15, 16, 23, 29, 0];
    const ref = tiny.reference(ids);
    const a = await engine.analyze(ids);
    for (let l = 0; l < c.layers; l++) assert.ok(Math.abs((await a.lambda(l))! - ref.lambdas![l][0][0]) < 1e-5, `λ of layer ${l}`);
    const rows = await a.rows(ids.length - 1);
    for (let l = 0; l < c.layers; l++) for (let h = 0; h < 2; h++) assert.ok(maxDiff(rows.layers[l].heads[h].a, ref.rows[l][h][ids.length - 1]) < 1e-5);
  } finally {
    await engine.release();
  }
});

test('DIFF written with two softmaxes per layer (A1 and A2 from separate projections) is read as one diff-v1 layer with halves pairing, equal to the reference', async () => {
  const c = { vocab: 30, d: 16, heads: 4, layers: 2, maxT: 24, seed: 23 };
  const tiny = diffSeparateTiny(c);
  const { m, bytes } = rewrite(tiny.onnx, tiny.config, 'diff-separate-tiny');
  assert.equal(m.layers, 2, 'two softmaxes per layer make one layer');
  assert.equal(m.attention, 'diff-v1');
  assert.equal(m.pairing, 'halves');
  assert.equal(m.heads, 2);
  assert.equal(m.qkHeads, 4);
  const engine = await AttentionEngine.create(ort, m, bytes, 'wasm');
  try {
    const check = await engine.verify([3, 1, 4, 1, 5, 9, 2, 6]);
    assert.equal(check.readFrom, 'qk', `the concatenated Q/K reproduce both softmaxes (${check.maxError})`);
    const ids = [2, 7, 1, 8, 2, 8, 18, 28];
    const ref = tiny.reference(ids);
    const a = await engine.analyze(ids);
    for (let l = 0; l < c.layers; l++) assert.ok(Math.abs((await a.lambda(l))! - ref.lambdas![l][0][0]) < 1e-6);
    for (const q of [0, 4, ids.length - 1]) {
      const rows = await a.rows(q);
      for (let l = 0; l < c.layers; l++) for (let h = 0; h < 2; h++) assert.ok(maxDiff(rows.layers[l].heads[h].a, ref.rows[l][h][q]) < 1e-5, `layer ${l} head ${h} query ${q}`);
    }
  } finally {
    await engine.release();
  }
});
