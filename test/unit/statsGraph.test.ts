// Layer statistics on wasm come from ONNX Runtime (webview/engine/statsGraph.ts running the graphs the build writes,
// dist/stats-*.onnx); they must equal the JavaScript CPU twin (layerStats.ts, itself checked against headStats.cpu.ts
// and the WGSL kernel), for both twins, across several row blocks, and for a DIFF V2 graph whose λ changes per token
// and head.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { parseManifest, type Manifest } from '../../src/core/manifest';
import { readHfConfig, rewriteForInspection } from '../../src/core/onnx/attentionRewrite';
import { AttentionEngine } from '../../webview/engine/engine';
import type { HeadStats } from '../../webview/engine/kernels/headStats.cpu';
import { diffV2Tiny } from '../fixtures/tinyModels';
import { STATS_FILES, statsGraph } from '../../src/core/onnx/statsModel';

ort.env.wasm.numThreads = 1;
AttentionEngine.statsGraphs = async (kind) => readFileSync(`dist/${STATS_FILES[kind]}`);

test('the build wrote the stats graphs this source gives', () => {
  for (const kind of ['softmax', 'diff'] as const) assert.ok(readFileSync(`dist/${STATS_FILES[kind]}`).equals(statsGraph(kind)), `dist/${STATS_FILES[kind]} is not what statsModel.ts writes: run node scripts/build.mjs`);
});

const FIELDS = ['entropyA1', 'entropyA2', 'negativeMass', 'smallShare', 'firstTokenMass', 'maxRowSumError'] as const;

function same(a: HeadStats[], b: HeadStats[], what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((h, i) => {
    for (const f of FIELDS) {
      if (Number.isNaN(b[i][f])) assert.ok(Number.isNaN(h[f]), `${what} head ${i} ${f}: ${h[f]} vs NaN`);
      // maxRowSumError is float32 rounding in both (about 1e-7): it must stay a rounding error.
      else if (f === 'maxRowSumError') assert.ok(h[f] < 1e-5 && b[i][f] < 1e-5, `${what} head ${i} ${f}: ${h[f]} vs ${b[i][f]}`);
      else assert.ok(Math.abs(h[f] - b[i][f]) <= 1e-4 * Math.max(1, Math.abs(b[i][f])), `${what} head ${i} ${f}: ${h[f]} vs ${b[i][f]}`);
    }
  });
}

async function compare(m: Manifest, onnx: Uint8Array, ids: number[], what: string): Promise<void> {
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    const a = await engine.analyze(ids);
    assert.ok(a.statsOnOrt, 'the analysis computes its statistics in ONNX Runtime');
    const fromOrt: HeadStats[][] = [];
    const lse: Float32Array[] = [];
    for (let l = 0; l < m.layers; l++) {
      fromOrt.push(await a.stats(l));
      lse.push((await a.lse(l)).slice()); // filled by the ORT pass
    }
    engine.statsInOrt = false;
    const b = await engine.analyze(ids);
    assert.ok(!b.statsOnOrt);
    for (let l = 0; l < m.layers; l++) {
      same(fromOrt[l], await b.stats(l), `${what} layer ${l}`);
      const want = await b.lse(l);
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(lse[l][i] - want[i]));
      assert.ok(err < 1e-4, `${what} layer ${l}: row log-sum-exp differs by ${err}`);
    }
  } finally {
    await engine.release();
  }
}

test('layer statistics through ONNX Runtime equal the JavaScript twin (both twins, 1,500 tokens: several row blocks; 1e-4)', async () => {
  for (const pkg of ['twin-diff', 'twin-softmax']) {
    const r = parseManifest(JSON.parse(readFileSync(`media/models/${pkg}/manifest.json`, 'utf8')));
    assert.ok(r.ok);
    const ids = Array.from({ length: 1500 }, (_, i) => (i * 7919 + 13 * (i >> 3)) % r.manifest.vocabSize);
    await compare(r.manifest, readFileSync(`media/models/${pkg}/model.onnx`), ids, pkg);
  }
});

test('layer statistics through ONNX Runtime with λ per token and head (a rewritten DIFF V2 graph) equal the JavaScript twin', async () => {
  const tiny = diffV2Tiny({ vocab: 30, d: 16, heads: 4, layers: 2, maxT: 40, seed: 5 });
  const rw = rewriteForInspection(tiny.onnx, { name: 'v2', displayName: 'v2', sourcePath: '/v2', config: readHfConfig(tiny.config), tokenizerVocab: 30, files: { onnx: 'model.onnx', tokenizer: 'tokenizer.json' } });
  const r = parseManifest(rw.manifest);
  assert.ok(r.ok);
  await compare(r.manifest, rw.bytes, Array.from({ length: 37 }, (_, i) => (i * 11 + 2) % 30), 'diff-v2');
});
