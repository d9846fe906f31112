/**
 * One benchmark point, in its own process so that peak memory is this T's alone:
 *   node out/bench/engineBench.cjs --T 2048 [--model twin-diff]
 * Runs the same graph on onnxruntime-web (wasm, 1 thread: the engine's path in Node and in the webview) and on
 * onnxruntime-node (native CPU, 1 thread), interleaved so both see the same machine load, then times the engine's
 * all-head rows for one query and the statistics of every head on their CPU twins. Prints one JSON line.
 * onnxruntime-node is not a dependency: `npm run bench` installs it into .tools/onnxruntime-node (scripts/ortNode.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as ortWeb from 'onnxruntime-web';
import { parseManifest } from '../src/core/manifest';
import { seededRandom } from '../src/core/probe';
import { AttentionEngine, chunkTokensFor } from '../webview/engine/engine';
import { emptyCache } from '../webview/engine/chunkedRun';
import type { Manifest } from '../src/core/manifest';
import { STATS_FILES } from '../src/core/statsFiles';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const T = Number(arg('T', '256'));
const model = arg('model', 'twin-diff');
const statsMaxT = Number(arg('stats-max-T', '2048'));
// Layer statistics through ONNX Runtime, as the panel runs them on wasm (the graphs the build wrote).
AttentionEngine.statsGraphs = async (kind) => readFileSync(join('dist', STATS_FILES[kind]));
/** `web`: only the engine (ORT web), for the engine's own peak memory; `both`: the timing comparison. */
const runtimes = arg('runtimes', 'both');
/** Tokens per chunk of the engine's chunked prefill (the bundled graphs take a key/value cache); "auto": the engine's choice. */
const chunkArg = arg('chunk', 'auto');
/** Also time the same graph in one chunk holding the whole text (the single pass of earlier releases) up to this T. */
const singleMaxT = Number(arg('single-max-T', '4096'));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
/** onnxruntime-node from .tools/onnxruntime-node (same API as onnxruntime-web's, whose types it shares). */
function loadOrtNode(): typeof ortWeb {
  const prefix = join(process.cwd(), '.tools/onnxruntime-node');
  if (!existsSync(join(prefix, 'node_modules/onnxruntime-node'))) {
    throw new Error(`onnxruntime-node is not installed in ${prefix}: run \`npm run bench\` (or node scripts/ortNode.mjs) once, which installs it`);
  }
  return createRequire(join(prefix, 'package.json'))('onnxruntime-node') as typeof ortWeb;
}

const peakRssMb = () => {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

/**
 * The engine's chunk schedule on a bare session (onnxruntime-node, or onnxruntime-web without the engine): the same
 * graph, the same chunks, each chunk's present keys/values fed back as the next one's past, and the outputs the engine
 * fetches (so the runtimes do the same work).
 */
async function chunkLoop(ort: typeof ortWeb, session: ortWeb.InferenceSession, m: Manifest, ids: number[], C: number): Promise<void> {
  const cache = m.cache!;
  const parts = Array.from({ length: m.layers }, (_, l) => [cache.key, cache.value].map((p) => ({ past: p.past.replace('{layer}', String(l)), present: p.present.replace('{layer}', String(l)), dims: p.dims }))).flat();
  let past = emptyCache(ort, m);
  for (let t0 = 0; t0 < ids.length; t0 += C) {
    const n = Math.min(C, ids.length - t0);
    const feeds: Record<string, ortWeb.Tensor> = {
      [m.inputs.ids.name]: new ort.Tensor('int64', BigInt64Array.from(ids.slice(t0, t0 + n), (v) => BigInt(v)), [1, n]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(t0 + i)), [1, n]),
    };
    parts.forEach((p, i) => (feeds[p.past] = past[i]));
    const out = await session.run(feeds);
    past = parts.map((p) => out[p.present]);
  }
}

async function main() {
  ortWeb.env.wasm.numThreads = 1;
  const parsed = parseManifest(JSON.parse(readFileSync(`media/models/${model}/manifest.json`, 'utf8')));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const m = parsed.manifest;
  const onnx = readFileSync(`media/models/${model}/model.onnx`);
  const rand = seededRandom(T);
  const ids = Array.from({ length: T }, () => 1 + Math.floor(rand() * (m.vocabSize - 1)));
  const reps = T <= 1024 ? 5 : T <= 2048 ? 3 : 1;
  const result: Record<string, unknown> = { T, model, reps };

  const chunk = chunkArg === 'auto' ? chunkTokensFor(T, m.qkHeads) : Number(chunkArg);
  result.chunk = chunk;
  if (runtimes === 'web') {
    const engine = await AttentionEngine.create(ortWeb, m, onnx, 'wasm');
    engine.chunkTokens = chunk;
    try {
      const a = await engine.analyze(ids);
      await a.rows(T - 1);
      if (T <= statsMaxT) await a.stats(0);
    } catch (e) {
      result.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
    } finally {
      await engine.release();
    }
    result.enginePeakRssMb = peakRssMb();
    console.log(JSON.stringify(result));
    return;
  }
  const engine = await AttentionEngine.create(ortWeb, m, onnx, 'wasm');
  engine.chunkTokens = chunk;
  const ortNode = loadOrtNode();
  const node = await ortNode.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  // The same chunk loop on onnxruntime-web's own session, without the engine: separates the runtime's share of the
  // web / node ratio from the engine's JavaScript (Q/K gathering, surprisal).
  const bare = await ortWeb.InferenceSession.create(onnx, { graphOptimizationLevel: 'all' });
  const web: number[] = [];
  const bareWeb: number[] = [];
  const single: number[] = [];
  const nat: number[] = [];
  let analysis;
  try {
    // Warm-up, then interleave: the engine chunked, the same graph in one chunk, onnxruntime-node and ORT web alone
    // on the same chunks.
    analysis = await engine.analyze(ids);
    await chunkLoop(ortNode, node, m, ids, chunk);
    await chunkLoop(ortWeb, bare, m, ids, chunk);
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      analysis = await engine.analyze(ids);
      web.push(performance.now() - t0);
      if (T <= singleMaxT && T > chunk) {
        engine.chunkTokens = T;
        analysis.dispose();
        t0 = performance.now();
        await engine.analyze(ids);
        single.push(performance.now() - t0);
        engine.chunkTokens = chunk;
        analysis = await engine.analyze(ids);
      }
      t0 = performance.now();
      await chunkLoop(ortNode, node, m, ids, chunk);
      nat.push(performance.now() - t0);
      t0 = performance.now();
      await chunkLoop(ortWeb, bare, m, ids, chunk);
      bareWeb.push(performance.now() - t0);
    }
    result.forwardBareWebMs = median(bareWeb);
    result.bareWebOverNode = median(bareWeb) / median(nat);
    result.forwardWebMs = median(web);
    result.forwardNodeMs = median(nat);
    result.forwardRatio = median(web) / median(nat);
    if (single.length) {
      result.forwardSinglePassMs = median(single);
      result.chunkedOverSingle = median(web) / median(single);
    }

    const rowTimes: number[] = [];
    await analysis.rows(T - 1); // first call also pulls q/k into typed arrays
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      await analysis.rows(T - 1 - r);
      rowTimes.push(performance.now() - t0);
    }
    result.rowsAllHeadsMs = median(rowTimes);

    if (T <= statsMaxT) {
      const t0 = performance.now();
      for (let l = 0; l < m.layers; l++) {
        await analysis.stats(l);
        if (l === 0) result.statsFirstLayerMs = performance.now() - t0; // what a progressive display shows first
      }
      result.statsAllHeadsMs = performance.now() - t0; // through ONNX Runtime (statsGraph.ts), its session created on the first call
      result.statsOverForward = (result.statsAllHeadsMs as number) / (result.forwardWebMs as number);
      // The same statistics in JavaScript (the CPU twin, what earlier releases ran), on the same Q/K.
      engine.statsInOrt = false;
      analysis = await engine.analyze(ids);
      const t1 = performance.now();
      for (let l = 0; l < m.layers; l++) await analysis.stats(l);
      result.statsAllHeadsJsMs = performance.now() - t1;
      engine.statsInOrt = true;
    }
  } catch (e) {
    result.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
  } finally {
    await engine.release();
    await node.release();
    await bare.release();
  }
  result.peakRssMb = peakRssMb();
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.log(JSON.stringify({ T, error: String(e) }));
  process.exit(1);
});
