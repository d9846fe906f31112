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
import { AttentionEngine } from '../webview/engine/engine';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const T = Number(arg('T', '256'));
const model = arg('model', 'twin-diff');
const statsMaxT = Number(arg('stats-max-T', '2048'));
/** `web`: only the engine (ORT web), for the engine's own peak memory; `both`: the timing comparison. */
const runtimes = arg('runtimes', 'both');

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

  if (runtimes === 'web') {
    const engine = await AttentionEngine.create(ortWeb, m, onnx, 'wasm');
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
  const ortNode = loadOrtNode();
  const node = await ortNode.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const feeds = { [m.inputs.ids.name]: new ortNode.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, T]) };
  const web: number[] = [];
  const nat: number[] = [];
  let analysis;
  try {
    // Warm-up both, then interleave.
    analysis = await engine.analyze(ids);
    await node.run(feeds);
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      analysis = await engine.analyze(ids);
      web.push(performance.now() - t0);
      t0 = performance.now();
      const out = await node.run(feeds);
      nat.push(performance.now() - t0);
      for (const v of Object.values(out)) v.dispose?.();
    }
    result.forwardWebMs = median(web);
    result.forwardNodeMs = median(nat);
    result.forwardRatio = median(web) / median(nat);

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
      result.statsAllHeadsMs = performance.now() - t0;
      result.statsOverForward = (result.statsAllHeadsMs as number) / (result.forwardWebMs as number);
    }
  } catch (e) {
    result.error = e instanceof Error ? e.message.split('\n')[0] : String(e);
  } finally {
    await engine.release();
    await node.release();
  }
  result.peakRssMb = peakRssMb();
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.log(JSON.stringify({ T, error: String(e) }));
  process.exit(1);
});
