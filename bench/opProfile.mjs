// Where the forward's time goes, per operator, on onnxruntime-web (wasm, one thread: the webview's runtime) and
// onnxruntime-node (native, one thread), for the same graph and the same chunk: the second of a chunked prefill
// (C new tokens after C cached ones), as the engine runs it. Both runtimes' own profilers (enableProfiling); each
// runs the chunk `reps` times after a warm-up, and the table gives the mean over those runs of the summed kernel
// times.
// It explains the web / node ratio in BENCHMARKS.md: which operators wasm runs slower, and by how much.
//
//   node bench/opProfile.mjs [model=twin-diff] [C=512] [reps=5]
// Writes bench/results/op-profile.json.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ortWeb from 'onnxruntime-web';
import { ensureOnnxruntimeNode } from '../scripts/ortNode.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [model = 'twin-diff', C = 512, reps = 5] = args.map((v, i) => (i ? Number(v) : v));
const child = process.argv.includes('--web-child');
const manifest = JSON.parse(readFileSync(join(root, 'media/models', model, 'manifest.json'), 'utf8'));
const onnx = readFileSync(join(root, 'media/models', model, 'model.onnx'));
if (!manifest.cache) throw new Error(`${model} has no key/value cache: the profile times the second chunk of a chunked prefill`);

function feeds(ort) {
  const f = {
    [manifest.inputs.ids.name]: new ort.Tensor('int64', BigInt64Array.from({ length: C }, (_, i) => BigInt(1 + ((i * 7919) % (manifest.vocabSize - 1)))), [1, C]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: C }, (_, i) => BigInt(C + i)), [1, C]),
  };
  for (let l = 0; l < manifest.layers; l++) {
    for (const part of [manifest.cache.key, manifest.cache.value]) {
      const dims = part.dims.map((d) => (d === 'batch' ? 1 : d === 'past' ? C : d));
      const n = dims.reduce((a, b) => a * b, 1);
      f[part.past.replace('{layer}', String(l))] = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5), dims);
    }
  }
  return f;
}

/** Kernel time per operator type and per node (layers merged), summed over the profiled runs. */
function aggregate(events) {
  const byOp = {};
  const byNode = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args.op_name;
    byOp[op] = (byOp[op] ?? 0) + e.dur / 1000;
    const node = `${op} ${e.name.replace(/_kernel_time$/, '').replace(/blocks\.\d+/, 'blocks.*')} ${JSON.stringify(e.args.input_type_shape.map((s) => Object.values(s)[0]))}`;
    byNode[node] = (byNode[node] ?? 0) + e.dur / 1000;
  }
  return { byOp, byNode };
}

const parseTrace = (text) => JSON.parse(text.slice(text.indexOf('['), text.lastIndexOf(']') + 1));

async function profileWeb() {
  ortWeb.env.wasm.numThreads = 1;
  const s = await ortWeb.InferenceSession.create(onnx, { graphOptimizationLevel: 'all', enableProfiling: true });
  const f = feeds(ortWeb);
  await s.run(f);
  for (let r = 0; r < reps; r++) await s.run(f);
  // onnxruntime-web's wasm build prints the trace to stdout when profiling ends (the parent reads it there).
  await s.endProfiling();
  await s.release();
}

/** The web profile in a child process, whose stdout holds the trace and nothing else. */
function webTrace() {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), model, String(C), String(reps), '--web-child'], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`the onnxruntime-web profile failed: ${r.stderr}`);
  return parseTrace(r.stdout);
}

async function profileNode() {
  const ortNode = createRequire(join(ensureOnnxruntimeNode(), 'package.json'))('onnxruntime-node');
  const dir = join(tmpdir(), `attn-op-profile-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const s = await ortNode.InferenceSession.create(onnx, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', enableProfiling: true, profileFilePrefix: join(dir, 'p') });
  const f = feeds(ortNode);
  await s.run(f);
  for (let r = 0; r < reps; r++) await s.run(f);
  await s.endProfiling();
  await s.release();
  const file = readdirSync(dir).find((n) => n.endsWith('.json'));
  const events = parseTrace(readFileSync(join(dir, file), 'utf8'));
  rmSync(dir, { recursive: true, force: true });
  return events;
}

// The warm-up run is profiled too: drop the first run's kernels by keeping the last reps × (kernels per run).
function lastRuns(events) {
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const perRun = kernels.length / (reps + 1);
  if (!Number.isInteger(perRun)) throw new Error(`${kernels.length} kernel events do not split into ${reps + 1} equal runs`);
  return kernels.slice(kernels.length - perRun * reps);
}

if (child) {
  await profileWeb();
  process.exit(0);
}
const web = aggregate(lastRuns(webTrace()));
const nat = aggregate(lastRuns(await profileNode()));
const total = (o) => Object.values(o).reduce((a, b) => a + b, 0) / reps;
const rows = (a, b, top) =>
  Object.entries(a)
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)
    .map(([k, v]) => ({ what: k, webMs: v / reps, nodeMs: (b[k] ?? 0) / reps, ratio: v / (b[k] ?? NaN) }));
const result = {
  date: new Date().toISOString(),
  model,
  chunk: C,
  past: C,
  reps,
  webMs: total(web.byOp),
  nodeMs: total(nat.byOp),
  byOp: rows(web.byOp, nat.byOp, 12),
  byNode: rows(web.byNode, nat.byNode, 12),
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/op-profile.json'), JSON.stringify(result, null, 2) + '\n');
const f = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—');
console.log(`${model}, one chunk of ${C} tokens after ${C} cached; kernel time per run: web ${f(result.webMs)} ms, node ${f(result.nodeMs)} ms (${f(result.webMs / result.nodeMs, 2)} ×)\n`);
for (const [title, list] of [['operator', result.byOp], ['node (layers summed)', result.byNode]]) {
  console.log(`| ${title} | ORT web (ms) | ORT node (ms) | web / node |\n| --- | --- | --- | --- |`);
  for (const r of list) console.log(`| ${r.what} | ${f(r.webMs)} | ${f(r.nodeMs)} | ${f(r.ratio, 2)} |`);
  console.log('');
}
