// Runs inside headless Chromium (see run.mjs). Each test returns normally or throws; results go back to Node.
import { readHfConfig, rewriteForInspection } from '../../src/core/onnx/attentionRewrite';
import { diffV2Tiny, gpt2Tiny } from '../fixtures/tinyModels';
import { Tensor, diffRow } from '../../src/core/attention';
import { parseManifest, type Manifest } from '../../src/core/manifest';
import { seededRandom } from '../../src/core/probe';
import { AttentionEngine, CancelledError, liveOutputs } from '../../webview/engine/engine';
import { kernelBuffers } from '../../webview/engine/kernels/gpuRun';
import { chunkedHoldings } from '../../webview/engine/chunkedRun';
import { wholeTextFeeds } from '../fixtures/feeds';
import { attentionColumnsCpu } from '../../webview/engine/kernels/attentionColumns.cpu';
import { attentionColumnsGpu } from '../../webview/engine/kernels/attentionColumns.wgsl';
import { attentionMapCpu } from '../../webview/engine/kernels/attentionMap.cpu';
import { attentionMapGpu } from '../../webview/engine/kernels/attentionMap.wgsl';
import { headStatsCpu, rowStatsCpu } from '../../webview/engine/kernels/headStats.cpu';
import { headStatsGpu, rowStatsGpu } from '../../webview/engine/kernels/headStats.wgsl';
import { rolloutStepCpu, valueWeightedCpu } from '../../webview/engine/kernels/rollout.cpu';
import { rolloutStepGpu, valueWeightedGpu } from '../../webview/engine/kernels/rollout.wgsl';
import { rowLseCpu } from '../../webview/engine/kernels/rowLse.cpu';
import { rowLseGpu } from '../../webview/engine/kernels/rowLse.wgsl';
import { whatIfCpu } from '../../webview/engine/kernels/whatIf.cpu';
import { whatIfGpu } from '../../webview/engine/kernels/whatIf.wgsl';
import { attentionRowsCpu } from '../../webview/engine/kernels/attentionRows.cpu';
import { attentionRowsGpu } from '../../webview/engine/kernels/attentionRows.wgsl';
import { detectCapabilities } from '../../webview/capabilities';
import { timeBackends } from '../../webview/engine/backendTiming';
import { STATS_FILES } from '../../src/core/statsFiles';
import { adapterKey, chooseBackend } from '../../src/core/protocol';
import { cachedFile, loadFile, openFileCache, takeEarly } from '../../webview/fileCache';
import { binaryLoad, configureOrt, loadBinary, openSession, ort, ortFor, ortReady } from '../../webview/engine/ortRuntime';
import { runProbe } from '../../webview/engine/probe';
import { ORT_GLUE } from '../../src/core/ortFiles';
import { MapView } from '../../webview/explorer/mapView';
import { Strips } from '../../webview/explorer/strips';

/**
 * ORT pointed at the build's dist/ort, with both builds' binaries fetched and inflated as the panel does
 * (ortReady): the tests below create sessions directly on either build.
 */
async function setupOrt(): Promise<void> {
  await configureOrt('/dist/ort/');
  await ortReady('webgpu');
  await ortReady('wasm');
}

type Mode = 'webgpu' | 'nogpu';
interface Result { name: string; ok: boolean; error?: string; ms: number; note?: string }
/** A figure a test measured, printed beside its result (frame times: reported, not asserted tightly). */
let note: string | undefined;
// As in the panel: layer statistics on wasm run the stats graphs the build wrote (the WebGPU results are compared with them).
AttentionEngine.statsGraphs = async (kind) => new Uint8Array(await (await fetch(`/dist/${STATS_FILES[kind]}`)).arrayBuffer());
const tests: { name: string; modes: Mode[]; fn: () => Promise<void> }[] = [];
const it = (name: string, modes: Mode[], fn: () => Promise<void>) => tests.push({ name, modes, fn });

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** The message a call fails with, or '' when it does not fail (the assertion after it then says so). */
async function errorText(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return '';
  } catch (e) {
    return String(e);
  }
}

/** The largest |value| of a tensor, at least 1: chunked runs change the order of float32 sums, so Q/K agree to 1e-5 of it. */
const scaleOf = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 1);

/** abs-or-rel tolerance with NaN/Inf treated as failures; names the first bad index. */
function assertClose(actual: Float32Array, expected: Float32Array, abs: number, rel: number, what: string): void {
  assert(actual.length === expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(a) || Math.abs(a - e) > Math.max(abs, rel * Math.abs(e))) {
      throw new Error(`${what}: index ${i}: got ${a}, expected ${e}`);
    }
  }
}

function randn(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

function qkCase(H: number, T: number, d: number, seed: number) {
  const layout = ['qkHead', 'token', 'dim'] as const;
  return { q: new Tensor(randn(H * T * d, seed), [H, T, d], layout), k: new Tensor(randn(H * T * d, seed + 1), [H, T, d], layout), scale: 1.3 / Math.sqrt(d) };
}

async function probeModel(): Promise<Uint8Array> {
  const r = await fetch('/dist/probe.onnx');
  assert(r.ok, `probe.onnx: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

let device: GPUDevice | undefined;
async function gpuDevice(): Promise<GPUDevice> {
  if (!device) {
    const adapter = await navigator.gpu.requestAdapter();
    assert(adapter, 'no WebGPU adapter');
    device = await adapter.requestDevice();
  }
  return device;
}

it('a WebGPU adapter exists (software adapter under --enable-unsafe-webgpu), and "webgpu" selects it', ['webgpu'], async () => {
  const caps = await detectCapabilities('webgpu');
  assert(caps.adapter, `no adapter: ${caps.webgpuUnavailableReason}`);
  assert(caps.backend === 'webgpu', `backend ${caps.backend}`);
  assert(caps.webgpuUnavailableReason === null, 'no reason when an adapter exists');
  assert(/the setting attentionInspector.backend is "webgpu"/.test(caps.backendReason), caps.backendReason);
});

it('"auto" on the software adapter picks wasm, and wasm is the faster backend here (the panel\'s timing of both backends, 96 tokens); the same timing on a hardware adapter would pick wasm too', ['webgpu'], async () => {
  const caps = await detectCapabilities('auto');
  assert(caps.adapter?.software, `this machine's adapter is SwiftShader, reported as software: ${JSON.stringify(caps.adapter)}`);
  assert(caps.backend === 'wasm', `auto picked ${caps.backend}`);
  assert(/software renderer, far slower than wasm/.test(caps.backendReason), caps.backendReason);
  await setupOrt();
  const m = (await (await fetch('/media/models/twin-softmax/manifest.json')).json()) as Manifest;
  const onnx = new Uint8Array(await (await fetch('/media/models/twin-softmax/model.onnx')).arrayBuffer());
  // What the panel runs once on a hardware adapter that was never timed (webview/engine/backendTiming.ts).
  const t = await timeBackends(m, onnx, 96);
  assert(t.webgpuRanOn === 'webgpu', `ORT ran "webgpu" on ${t.webgpuRanOn}`);
  note = `forward of 96 tokens, wasm ${t.wasmMs.toFixed(0)} ms, software WebGPU ${t.webgpuMs.toFixed(0)} ms`;
  assert(t.wasmMs < t.webgpuMs, `auto chose wasm, but WebGPU was faster: ${note}`);
  const timing = { adapter: adapterKey(caps.adapter!), model: 'twin-softmax', tokens: 96, wasmMs: t.wasmMs, webgpuMs: t.webgpuMs, at: new Date().toISOString() };
  const asHardware = chooseBackend('auto', { ...caps.adapter!, software: false }, timing);
  assert(asHardware.backend === 'wasm' && /^timed on this machine/.test(asHardware.reason), JSON.stringify(asHardware));
  const remembered = await detectCapabilities('auto', [timing]);
  assert(remembered.backend === 'wasm' && !remembered.untimed, 'a remembered timing does not make auto use a software adapter');
});

it('without the WebGPU flag there is no adapter, a reason, and the wasm backend', ['nogpu'], async () => {
  const caps = await detectCapabilities('auto');
  assert(caps.adapter === null, 'adapter should be null');
  assert(caps.backend === 'wasm', `backend ${caps.backend}`);
  assert(typeof caps.webgpuUnavailableReason === 'string' && caps.webgpuUnavailableReason.length > 10, 'a reason is given');
});

it('the "wasm" preference wins even when an adapter exists', ['webgpu'], async () => {
  const caps = await detectCapabilities('wasm');
  assert(caps.adapter !== null && caps.backend === 'wasm', `backend ${caps.backend}`);
});

it('the WGSL kernel rejects a query outside the sequence before touching the GPU', ['webgpu'], async () => {
  const dev = await gpuDevice();
  const t = new Tensor(new Float32Array(4), [1, 2, 2], ['qkHead', 'token', 'dim']);
  const msg = await errorText(() => attentionRowsGpu(dev, { q: t, k: t, query: 5, scale: 1 }));
  assert(/query 5 is outside 0\.\.1/.test(msg), `message: ${msg}`);
});

it('a missing ORT file is named in the error, and ORT works again once pointed at its files', ['webgpu', 'nogpu'], async () => {
  await configureOrt('/no-such-folder/');
  const msg = await errorText(() => ortReady('wasm'));
  // Whichever of the glue's import and the binary's fetch fails first names its file.
  assert(/ONNX Runtime file ort-wasm-simd-threaded\.(mjs|wasm\.gz) could not be loaded from the extension/.test(msg) && msg.includes('Reinstall'), `message: ${msg}`);
  // (Only the wasm build: a later test needs the WebGPU build not started yet.)
  await configureOrt('/dist/ort/');
  assert((await ortReady('wasm')) !== undefined, 'ORT is ready again from dist/ort');
});

it('ORT\'s gzipped binary inflates in the page to the package\'s .wasm; a missing one is named with its HTTP status', ['nogpu'], async () => {
  const raw = new Uint8Array(await (await fetch('/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm')).arrayBuffer());
  const { bytes, load } = await loadBinary('/dist/ort/ort-wasm-simd-threaded.wasm.gz', 'ort-wasm-simd-threaded.wasm.gz');
  assert(load.fetchedBytes < raw.byteLength / 3, `fetched ${load.fetchedBytes} bytes for a ${raw.byteLength}-byte binary`);
  assert(bytes.byteLength === raw.byteLength && bytes.every((v, i) => v === raw[i]), 'the inflated binary differs from the package\'s');
  // A server that already decoded it (no gzip magic): taken as it is.
  const plain = await loadBinary('/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.wasm');
  assert(plain.bytes.byteLength === raw.byteLength && plain.load.fetchedBytes === raw.byteLength, `plain: ${plain.load.fetchedBytes} bytes fetched, ${plain.bytes.byteLength} handed on`);
  const msg = await errorText(() => loadBinary('/no-such-folder/ort-wasm-simd-threaded.wasm.gz', 'ort-wasm-simd-threaded.wasm.gz'));
  assert(msg.includes('ort-wasm-simd-threaded.wasm.gz') && msg.includes('404') && msg.includes('Reinstall'), `message: ${msg}`);
  note = `fetched ${(load.fetchedBytes / 2 ** 20).toFixed(1)} MB, inflated to ${(bytes.byteLength / 2 ** 20).toFixed(1)} MB in ${Math.round(load.inflateMs)} ms`;
});

it('the panel\'s file cache: a file fetched once is read from Cache Storage after, byte for byte (ORT\'s binary kept inflated); a new stamp starts a new cache and deletes the old; no stamp, no cache; a load the head started is taken once', ['nogpu'], async () => {
  const cached = async (stamp: string) => (await caches.keys()).includes(`attention-inspector-files-${stamp}`);
  const kept = async (url: string) => {
    for (let i = 0; i < 100 && !(await cachedFile(url)); i++) await new Promise((r) => setTimeout(r, 20));
  };
  const url = '/dist/probe.onnx';
  const onDisk = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const fail = (why: string) => new Error(`probe: ${why}`);
  const same = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
  openFileCache(undefined);
  assert((await loadFile(url, fail)).source === 'network' && (await loadFile(url, fail)).source === 'network', 'no stamp: every load is a download');
  openFileCache('browser-test-1');
  const first = await loadFile(url, fail);
  assert(first.source === 'network' && same(first.bytes, onDisk), `first load: ${first.source}`);
  await kept(url);
  const second = await loadFile(url, fail);
  assert(second.source === 'cache' && same(second.bytes, onDisk), `second load: ${second.source}, ${second.bytes.byteLength} bytes`);
  // ORT's binary: kept as inflated, so a cached load hands ORT the same bytes without inflating.
  const gz = '/dist/ort/ort-wasm-simd-threaded.wasm.gz';
  const a = await loadBinary(gz, 'ort-wasm-simd-threaded.wasm.gz');
  await kept(gz);
  const b = await loadBinary(gz, 'ort-wasm-simd-threaded.wasm.gz');
  assert(a.load.source === 'network' && b.load.source === 'cache' && b.load.fetchedBytes === 0 && same(a.bytes, b.bytes), `binary: ${a.load.source} then ${b.load.source}`);
  // A missing file is named, and nothing is cached for it.
  const msg = await errorText(() => loadFile('/no-such-file.onnx', fail));
  assert(/probe: HTTP 404$/.test(msg), `message: ${msg}`);
  assert((await cachedFile('/no-such-file.onnx')) === undefined, 'a failed load is not cached');
  // The host's stamp changed (a rebuild or an update): a new cache, and the old one is gone.
  openFileCache('browser-test-2');
  assert((await loadFile(url, fail)).source === 'network', 'a new stamp downloads again');
  assert(!(await cached('browser-test-1')) && (await cached('browser-test-2')), `caches: ${(await caches.keys()).join(', ')}`);
  // What the page's head started is handed over once.
  const early = loadFile(url, fail);
  window.attentionInspectorEarly = new Map([[url, early]]);
  assert(takeEarly(url) === early && takeEarly(url) === undefined, 'taken once');
  await caches.delete('attention-inspector-files-browser-test-2');
  openFileCache(undefined);
});

it('a build whose binary is missing fails with the file named, and works once ORT points at the right folder', ['nogpu'], async () => {
  // onnxruntime-web's own dist folder has the glue (.mjs) but no .wasm.gz. This page has not started the WebGPU build
  // yet (the nogpu tests before this one create no session on it); if that changes, this test says so.
  assert(binaryLoad('webgpu') === undefined, 'the WebGPU build was already fetched in this page: run this test before any session on it');
  await configureOrt('/node_modules/onnxruntime-web/dist/');
  const msg = await errorText(() => ortReady('webgpu'));
  assert(msg.includes('ort-wasm-simd-threaded.asyncify.wasm.gz') && msg.includes('404'), `message: ${msg}`);
  await setupOrt();
  const load = await binaryLoad('webgpu');
  assert(load !== undefined && load.bytes > 20e6, `after pointing ORT at dist/ort: ${JSON.stringify(load)}`);
});

it('ORT on WebGPU runs the probe model and matches the JavaScript reference', ['webgpu'], async () => {
  await setupOrt();
  const r = await runProbe(await probeModel(), 'webgpu', 24);
  assert(r.backend === 'webgpu', `ran on ${r.backend}`);
  assert(r.maxAbsError < 1e-5, `max error ${r.maxAbsError}`);
});

it("our WGSL kernel runs on ORT's own GPU device", ['webgpu'], async () => {
  await setupOrt();
  // The session must stay open: ORT tears its device down when the last WebGPU session is released.
  const { session, backend } = await openSession(await probeModel(), 'webgpu');
  try {
    assert(backend === 'webgpu', `session on ${backend}`);
    const dev = (await ort.env.webgpu.device) as GPUDevice | undefined;
    assert(dev, 'ORT exposes its device while a WebGPU session is open');
    const x = { ...qkCase(2, 40, 8, 1), query: 39 };
    assertClose(await attentionRowsGpu(dev, x), attentionRowsCpu(x), 1e-6, 1e-5, 'on ORT device');
  } finally {
    await session.release();
  }
});

it('ORT on wasm runs the probe model and matches the JavaScript reference', ['webgpu', 'nogpu'], async () => {
  await setupOrt();
  const r = await runProbe(await probeModel(), 'wasm', 24);
  assert(r.backend === 'wasm', `ran on ${r.backend}`);
  assert(r.maxAbsError < 1e-5, `max error ${r.maxAbsError}`);
});

it("ORT's glue module is imported once per build: ortReady's early import is the one ORT's start uses (no second download)", ['webgpu', 'nogpu'], async () => {
  await setupOrt();
  const m = await probeModel();
  for (const b of ['wasm', 'webgpu'] as const) await runProbe(m, b, 8);
  // HEAD checks are fetches; a module import is not.
  const imports = (file: string) => performance.getEntriesByType('resource').filter((e) => new URL(e.name).pathname.endsWith(`/dist/ort/${file}`) && (e as PerformanceResourceTiming).initiatorType !== 'fetch');
  for (const file of [ORT_GLUE.wasm, ORT_GLUE.webgpu]) {
    const got = imports(file);
    assert(got.length === 1, `${file} was loaded ${got.length} times by import: ${got.map((e) => (e as PerformanceResourceTiming).initiatorType).join(', ')}`);
  }
});

it('WebGPU and wasm sessions alternate in one page (webgpu → wasm → webgpu)', ['webgpu'], async () => {
  await setupOrt();
  const m = await probeModel();
  for (const b of ['webgpu', 'wasm', 'webgpu'] as const) {
    const r = await runProbe(m, b, 12);
    assert(r.backend === b && r.maxAbsError < 1e-5, `${b}: ran on ${r.backend}, error ${r.maxAbsError}`);
  }
});

it('WGSL attentionRows equals its CPU twin for every sub-head, in two axis orders', ['webgpu'], async () => {
  const dev = await gpuDevice();
  for (const [H, T, d] of [[4, 1, 32], [4, 29, 32], [6, 300, 8]]) {
    const q = randn(H * T * d, H + T);
    const k = randn(H * T * d, H * T + 1);
    for (const layout of [['qkHead', 'token', 'dim'], ['token', 'qkHead', 'dim']] as const) {
      const dims = layout[0] === 'qkHead' ? [H, T, d] : [T, H, d];
      const x = { q: new Tensor(q, dims, layout), k: new Tensor(k, dims, layout), query: T - 1, scale: 1 / Math.sqrt(d) };
      assertClose(await attentionRowsGpu(dev, x), attentionRowsCpu(x), 1e-6, 1e-5, `H=${H} T=${T} ${layout.join(',')}`);
    }
  }
});

it('the twin-diff package on ORT WebGPU: the kernel reads ORT\'s Q/K buffers in place and matches PyTorch and the CPU twin', ['webgpu'], async () => {
  await setupOrt();
  const m = (await (await fetch('/media/models/twin-diff/manifest.json')).json()) as Manifest;
  const fx = (await (await fetch('/test/fixtures/models/twin-diff.json')).json()) as { ids: number[]; rows: { layer: number; query: number; lambda: number; a1: number[][]; a2: number[][] }[] };
  const bytes = new Uint8Array(await (await fetch('/media/models/twin-diff/model.onnx')).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
  try {
    const dev = (await ort.env.webgpu.device) as GPUDevice;
    const T = fx.ids.length;
    const out = await session.run(wholeTextFeeds(ort, m, fx.ids)); // one chunk: positions 0..T−1, an empty cache
    for (const r of fx.rows.filter((r) => r.query === T - 1)) {
      const qo = out[m.outputs.q.name.replace('{layer}', String(r.layer))];
      const ko = out[m.outputs.k.name.replace('{layer}', String(r.layer))];
      assert(qo.location === 'gpu-buffer', `q stays on the GPU (location ${qo.location})`);
      const q = new Tensor((await qo.getData()) as Float32Array, qo.dims, m.outputs.q.layout);
      const k = new Tensor((await ko.getData()) as Float32Array, ko.dims, m.outputs.k.layout);
      const x = { q, k, query: r.query, scale: m.scale };
      const gpu = await attentionRowsGpu(dev, x, { q: qo.gpuBuffer as GPUBuffer, k: ko.gpuBuffer as GPUBuffer });
      assertClose(gpu, attentionRowsCpu(x), 1e-6, 1e-5, `layer ${r.layer}: GPU vs CPU twin`);
      const lamT = out[m.outputs.lambda!.name.replace('{layer}', String(r.layer))];
      const lam = ((await lamT.getData()) as Float32Array)[0];
      for (let h = 0; h < m.heads; h++) {
        const cpu = diffRow(q, k, m, h, r.query, lam);
        assertClose(gpu.subarray(2 * h * T, (2 * h + 1) * T), Float32Array.from(r.a1[h]), 1e-4, 0, `layer ${r.layer} head ${h}: A1 vs PyTorch`);
        assertClose(gpu.subarray((2 * h + 1) * T, (2 * h + 2) * T), Float32Array.from(r.a2[h]), 1e-4, 0, `layer ${r.layer} head ${h}: A2 vs PyTorch`);
        assertClose(cpu.a1, gpu.subarray(2 * h * T, (2 * h + 1) * T), 1e-6, 1e-5, 'CPU A1');
      }
    }
    for (const t of Object.values(out)) t.dispose();
  } finally {
    await session.release();
  }
});

it('the engine gives the same rows on WebGPU (kernels on ORT buffers) and on wasm (ORT\'s plain wasm build, CPU twins), both twins', ['webgpu'], async () => {
  await setupOrt();
  for (const pkg of ['twin-diff', 'twin-softmax']) {
    const m = (await (await fetch(`/media/models/${pkg}/manifest.json`)).json()) as Manifest;
    const onnx = new Uint8Array(await (await fetch(`/media/models/${pkg}/model.onnx`)).arrayBuffer());
    const ids = ((await (await fetch(`/test/fixtures/models/${pkg}.json`)).json()) as { ids: number[] }).ids;
    const results: Float32Array[][] = [];
    for (const backend of ['webgpu', 'wasm'] as const) {
      const engine = await AttentionEngine.create(ortFor(backend), m, onnx, backend); // the ORT build the panel uses: plain wasm for wasm
      try {
        assert(engine.backend === backend, `${pkg}: engine on ${engine.backend}, asked ${backend}`);
        const a = await engine.analyze(ids);
        const flat: Float32Array[] = [];
        for (const query of [0, 7, ids.length - 1]) {
          for (const layer of (await a.rows(query)).layers) for (const h of layer.heads) flat.push(h.a);
        }
        results.push(flat);
      } finally {
        await engine.release();
      }
    }
    results[0].forEach((row, i) => assertClose(row, results[1][i], 1e-5, 1e-4, `${pkg} row ${i}: WebGPU vs wasm`));
  }
});


/** Runs `work` while counting the page's tasks (a MessageChannel ping-pong): how many times others could run. */
async function tasksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  let running = true;
  const c = new MessageChannel();
  c.port1.onmessage = () => {
    ticks++;
    if (running) c.port2.postMessage(0);
  };
  c.port2.postMessage(0);
  try {
    await work();
  } finally {
    running = false;
    c.port1.close();
  }
  return ticks;
}

it('on wasm the page gets tasks during a chunked forward (between chunks) and while a layer\'s log-sum-exps are computed (in blocks): in code-server the panel shares the workbench\'s thread', ['nogpu'], async () => {
  await setupOrt();
  const m = (await (await fetch('/media/models/twin-diff/manifest.json')).json()) as Manifest;
  const onnx = new Uint8Array(await (await fetch('/media/models/twin-diff/model.onnx')).arrayBuffer());
  const T = 600;
  const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % m.vocabSize);
  const engine = await AttentionEngine.create(ortFor('wasm'), m, onnx, 'wasm');
  try {
    engine.chunkTokens = 100;
    let a: Awaited<ReturnType<typeof engine.analyze>> | undefined;
    const forward = await tasksDuring(async () => (a = await engine.analyze(ids)));
    // Six chunks: a task between each pair (the ping-pong may get one more in).
    assert(forward >= 5, `${forward} tasks ran during a forward of 6 chunks`);
    const lse = await tasksDuring(() => a!.lse(1));
    assert(lse >= 2, `${lse} tasks ran while layer 1's log-sum-exps were computed at ${T} tokens`);
    // The values are the kernel twin's.
    const { q, k } = await a!.qkTensors(1);
    assertClose(await a!.lse(1), rowLseCpu({ q, k, scale: m.scale }), 1e-4, 1e-5, 'lse against rowLseCpu');
  } finally {
    await engine.release();
  }
});

it('chunked prefill on WebGPU: chunks of 7 and 20 tokens give the logits, Q/K and rows of one pass, Q/K gathered into GPU buffers (1e-5)', ['webgpu'], async () => {
  await setupOrt();
  for (const pkg of ['twin-diff', 'twin-softmax']) {
    const m = (await (await fetch(`/media/models/${pkg}/manifest.json`)).json()) as Manifest;
    const onnx = new Uint8Array(await (await fetch(`/media/models/${pkg}/model.onnx`)).arrayBuffer());
    const T = 48; // SwiftShader: small, for correctness
    const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 13 * (i >> 3)) % m.vocabSize);
    const engine = await AttentionEngine.create(ort, m, onnx, 'webgpu');
    try {
      assert(engine.backend === 'webgpu', `${pkg}: engine on ${engine.backend}`);
      engine.chunkTokens = T;
      const one = await engine.analyze(ids);
      const rows = (await one.rows(T - 1)).layers.flatMap((x) => x.heads.map((h) => h.a.slice()));
      const logits = (await one.logits()).slice();
      const qk: Float32Array[] = [];
      for (let l = 0; l < m.layers; l++) {
        const { q, k } = await one.qkTensors(l);
        qk.push(q.data.slice(), k.data.slice());
      }
      for (const chunk of [7, 20]) {
        engine.chunkTokens = chunk;
        const a = await engine.analyze(ids);
        assert(a.onWebGpu(0), `${pkg} chunk ${chunk}: Q/K stay on the GPU`);
        // The rows come from the WGSL kernel reading the gathered GPU buffers (read before anything downloads them).
        (await a.rows(T - 1)).layers.flatMap((x) => x.heads.map((h) => h.a)).forEach((r, i) => assertClose(r, rows[i], 1e-5, 0, `${pkg} chunk ${chunk}: row ${i}`));
        assertClose(await a.logits(), logits, 1e-4, 1e-5, `${pkg} chunk ${chunk}: logits`);
        for (let l = 0; l < m.layers; l++) {
          const { q, k } = await a.qkTensors(l);
          assertClose(q.data, qk[2 * l], 1e-5 * scaleOf(qk[2 * l]), 0, `${pkg} chunk ${chunk}: q of layer ${l}`);
          assertClose(k.data, qk[2 * l + 1], 1e-5 * scaleOf(qk[2 * l + 1]), 0, `${pkg} chunk ${chunk}: k of layer ${l}`);
        }
      }
    } finally {
      await engine.release();
    }
  }
  assert(chunkedHoldings.count === 0, `chunked runs hold ${chunkedHoldings.count} buffers after they finished`);
});

it('chunked prefill of a user model with a key/value cache (a rewritten Hugging Face-style export): chunks of 5 give the logits, Q/K and reference rows of one pass on WebGPU and on wasm', ['webgpu'], async () => {
  await setupOrt();
  const c = { vocab: 40, d: 16, heads: 2, layers: 2, maxT: 48, seed: 23 };
  const tiny = gpt2Tiny(c, { cache: true });
  const r = rewriteForInspection(tiny.onnx, { name: 'cache-tiny', displayName: 'tiny', sourcePath: '/tiny', config: readHfConfig(tiny.config), tokenizerVocab: 40, files: { onnx: 'model.onnx', tokenizer: 'tokenizer.json' } });
  const parsed = parseManifest(r.manifest);
  assert(parsed.ok, 'manifest of the rewritten graph');
  const m = (parsed as { manifest: Manifest }).manifest;
  assert(!!m.cache, 'the rewriter found the cache');
  const ids = Array.from({ length: 21 }, (_, i) => (i * 11 + 5) % c.vocab);
  const T = ids.length;
  const ref = tiny.reference(ids);
  for (const backend of ['webgpu', 'wasm'] as const) {
    const engine = await AttentionEngine.create(ort, m, r.bytes, backend);
    try {
      assert(engine.backend === backend, `engine on ${engine.backend}, asked ${backend}`);
      const checked = await engine.verify(Array.from({ length: 32 }, (_, i) => (i * 7 + 3) % c.vocab));
      assert(checked.chunked && checked.readFrom === 'qk', `${backend}: the check of the chunks passed (${checked.cacheNote ?? ''})`);
      engine.chunkTokens = T;
      const one = await engine.analyze(ids);
      const logits = (await one.logits()).slice();
      const qk: Float32Array[] = [];
      for (let l = 0; l < m.layers; l++) {
        const { q, k } = await one.qkTensors(l);
        qk.push(q.data.slice(), k.data.slice());
      }
      engine.chunkTokens = 5;
      const a = await engine.analyze(ids);
      if (backend === 'webgpu') assert(a.onWebGpu(0), 'Q/K stay on the GPU');
      (await a.rows(T - 1)).layers.forEach((layer, l) => layer.heads.forEach((h, j) => assertClose(h.a, ref.rows[l][j][T - 1], 1e-5, 1e-4, `${backend} layer ${l} head ${j}`)));
      assertClose(await a.logits(), logits, 1e-4, 1e-5, `${backend}: logits`);
      for (let l = 0; l < m.layers; l++) {
        const { q, k } = await a.qkTensors(l);
        assertClose(q.data, qk[2 * l], 1e-5, 0, `${backend}: q of layer ${l}`);
        assertClose(k.data, qk[2 * l + 1], 1e-5, 0, `${backend}: k of layer ${l}`);
      }
    } finally {
      await engine.release();
    }
  }
  assert(chunkedHoldings.count === 0, `chunked runs hold ${chunkedHoldings.count} buffers after they finished`);
});

it('WGSL rowLse, columns, pooled map, head statistics, what-if, rollout and value-weighted kernels equal their CPU twins', ['webgpu'], async () => {
  const dev = await gpuDevice();
  for (const [H, T, d] of [[2, 1, 8], [4, 23, 16], [4, 70, 8]]) {
    const x = qkCase(H, T, d, H * 100 + T);
    const lse = rowLseCpu(x);
    assertClose(await rowLseGpu(dev, x), lse, 1e-5, 1e-5, `rowLse H=${H} T=${T}`);
    for (const key of [0, T - 1]) assertClose(await attentionColumnsGpu(dev, { ...x, lse, key }), attentionColumnsCpu({ ...x, lse, key }), 1e-6, 1e-4, `columns T=${T} key=${key}`);
    // DIFF V2's λ varies per query row: the kernels take it as an array.
    const perRow = Float32Array.from({ length: T }, (_, i) => 0.2 + 0.6 * ((i * 7) % 11) / 11);
    for (const [s1, s2, lambda] of [[0, -1, 0], [0, 1, 0.6], [0, 1, perRow]] as const) {
      if (s2 >= H) continue;
      const p = { ...x, lse, s1, s2, lambda };
      for (const maxCells of [512, 5]) assertClose(await attentionMapGpu(dev, { ...p, maxCells }), attentionMapCpu({ ...p, maxCells }), 1e-6, 1e-4, `map T=${T} cells=${maxCells} s2=${s2}`);
      assertClose(await rowStatsGpu(dev, p), rowStatsCpu(p), 1e-5, 1e-4, `row stats T=${T} s2=${s2}`);
      const [g, c] = [await headStatsGpu(dev, p), headStatsCpu(p)];
      assert(Math.abs(g.entropyA1 - c.entropyA1) < 1e-4 && Math.abs(g.negativeMass - c.negativeMass) < 1e-5 && g.smallShare === c.smallShare, `head stats s2=${s2}`);
      const query = T - 1;
      const wq = { ...p, lambda: typeof lambda === 'number' ? lambda : lambda[query], query };
      assertClose(await whatIfGpu(dev, wq), whatIfCpu(wq), 1e-5, 1e-4, `what-if T=${T} s2=${s2}`);
      const r = new Float32Array(T);
      r[query] = 1;
      const pairs: [number, number][] = s2 >= 0 ? [[0, 1]] : Array.from({ length: H }, (_, h) => [h, -1] as [number, number]);
      for (const mode of ['abs', 'positive'] as const) {
        const ro = { ...x, lse, pairs, lambda, mode, query, r };
        assertClose(await rolloutStepGpu(dev, ro), rolloutStepCpu(ro), 1e-6, 1e-4, `rollout T=${T} ${mode}`);
      }
    }
    const row = randn(T, 5);
    const vn = randn(T, 6).map(Math.abs);
    assertClose(await valueWeightedGpu(dev, row, vn, 0.7), valueWeightedCpu(row, vn, 0.7), 1e-6, 1e-5, 'value-weighted');
  }
});

it('engine: columns, maps, statistics, what-if, rollout and value-weighted are the same on WebGPU and on wasm', ['webgpu'], async () => {
  await setupOrt();
  const m = (await (await fetch('/media/models/twin-diff/manifest.json')).json()) as Manifest;
  const onnx = new Uint8Array(await (await fetch('/media/models/twin-diff/model.onnx')).arrayBuffer());
  const ids = ((await (await fetch('/test/fixtures/models/twin-diff.json')).json()) as { ids: number[] }).ids;
  const T = ids.length;
  const got: Record<string, Float32Array[]> = {};
  for (const backend of ['webgpu', 'wasm'] as const) {
    const engine = await AttentionEngine.create(ort, m, onnx, backend);
    try {
      const a = await engine.analyze(ids);
      const st = await a.stats(1);
      got[backend] = [
        ...(await a.columns(1, 2)),
        (await a.map(1, 0, 8)).data,
        Float32Array.from(st.flatMap((h) => [h.entropyA1, h.entropyA2, h.negativeMass, h.smallShare, h.firstTokenMass])),
        await a.whatIf(3, 1, T - 1),
        await a.rollout(T - 1, 'positive'),
        await a.valueWeighted(0, 1, T - 1),
      ];
    } finally {
      await engine.release();
    }
  }
  got.webgpu.forEach((v, i) => assertClose(v, got.wasm[i], 1e-5, 1e-4, `result ${i}`));
  assert(kernelBuffers.live === 0, `${kernelBuffers.live} kernel buffers still alive`);
});

it('engine: a rewritten DIFF V2 graph (λ per token and head) gives the same rows, maps, statistics and rollout on WebGPU and on wasm, equal to the reference', ['webgpu'], async () => {
  await setupOrt();
  const tiny = diffV2Tiny({ vocab: 30, d: 16, heads: 4, layers: 2, maxT: 24, seed: 11 });
  const r = rewriteForInspection(tiny.onnx, { name: 'diff-v2-tiny', displayName: 'tiny', sourcePath: '/tiny', config: readHfConfig(tiny.config), tokenizerVocab: 30, files: { onnx: 'model.onnx', tokenizer: 'tokenizer.json' } });
  const parsed = parseManifest(r.manifest);
  assert(parsed.ok, 'manifest of the rewritten graph');
  const m = (parsed as { manifest: Manifest }).manifest;
  const ids = [1, 2, 29, 4, 4, 10, 7, 0, 18];
  const T = ids.length;
  const ref = tiny.reference(ids);
  const got: Record<string, Float32Array[]> = {};
  for (const backend of ['webgpu', 'wasm'] as const) {
    const engine = await AttentionEngine.create(ort, m, r.bytes, backend);
    try {
      assert(engine.backend === backend, `engine on ${engine.backend}, asked ${backend}`);
      const a = await engine.analyze(ids);
      const rows = await a.rows(T - 1);
      rows.layers.forEach((layer, l) => layer.heads.forEach((h, j) => assertClose(h.a, ref.rows[l][j][T - 1], 1e-5, 1e-4, `${backend} layer ${l} pair ${j}`)));
      assert(backend === 'webgpu' ? !a.statsOnOrt : !!a.statsOnOrt, `${backend}: statistics in ${backend === 'webgpu' ? 'the WGSL kernel' : 'ONNX Runtime (the stats graph)'}`);
      const st = await a.stats(1);
      got[backend] = [
        ...(await a.columns(1, 2)),
        (await a.map(1, 1)).data,
        Float32Array.from(st.flatMap((h) => [h.entropyA1, h.entropyA2, h.negativeMass, h.firstTokenMass, h.maxRowSumError < 1e-4 ? 0 : 1])),
        await a.whatIf(0, 1, T - 1),
        await a.rollout(T - 1, 'abs'),
      ];
    } finally {
      await engine.release();
    }
  }
  got.webgpu.forEach((v, i) => assertClose(v, got.wasm[i], 1e-5, 1e-4, `result ${i}`));
  assert(kernelBuffers.live === 0, `${kernelBuffers.live} kernel buffers still alive`);
});

it('engine on WebGPU: a second analysis wins, the first is cancelled, and its GPU outputs are freed', ['webgpu'], async () => {
  await setupOrt();
  const m = (await (await fetch('/media/models/twin-softmax/manifest.json')).json()) as Manifest;
  const onnx = new Uint8Array(await (await fetch('/media/models/twin-softmax/model.onnx')).arrayBuffer());
  const engine = await AttentionEngine.create(ort, m, onnx, 'webgpu');
  const before = liveOutputs.count;
  try {
    const first = engine.analyze(Array.from({ length: 64 }, (_, i) => 1 + i));
    const second = engine.analyze([0, 5, 6, 7]);
    let cancelled = false;
    try {
      await first;
    } catch (e) {
      cancelled = e instanceof CancelledError;
    }
    assert(cancelled, 'the first analysis is cancelled');
    const b = await second;
    await b.rows(3);
    assert(liveOutputs.count - before === 1 + m.layers * 3, `live outputs ${liveOutputs.count - before}`);
  } finally {
    await engine.release();
  }
  assert(liveOutputs.count === before && kernelBuffers.live === 0, 'everything released');
});

// ------------------------------------------------------------------------------------------------ the explorer's canvases

/** A mounted element with a fixed size, removed by the caller. */
function mount(el: HTMLElement, width: number): HTMLElement {
  const box = document.createElement('div');
  box.style.width = `${width}px`;
  box.append(el);
  document.body.append(box);
  return box;
}

/** A causal map whose weights say where they are: +(key+1)/(query+1) on even keys, negative on keys ≡ 1 (mod 3). */
function signedMap(T: number): Float32Array {
  const m = new Float32Array(T * T);
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) m[q * T + k] = (k % 3 === 1 ? -1 : 1) * (0.2 + (0.8 * (k + 1)) / (q + 1));
  return m;
}

function pixel(c: HTMLCanvasElement, x: number, y: number): [number, number, number] {
  const dpr = c.width / c.getBoundingClientRect().width;
  const d = c.getContext('2d')!.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data;
  return [d[0], d[1], d[2]];
}

it('explorer map: row = query, column = key; positive cells warm, negative cool, masked cells background; a click focuses the row’s token', ['nogpu'], async () => {
  const T = 12;
  let focused = -1;
  const v = new MapView('t-map', { focus: (t) => (focused = t), detail: async () => undefined });
  const box = mount(v.root, 520);
  try {
    v.set({ cells: T, tokens: T, data: signedMap(T), labels: Array.from({ length: T }, (_, i) => `tok${i}`), title: 'test', maxAbs: 1 });
    const c = v.canvas;
    const plot = Math.min(520 - 104, c.getBoundingClientRect().height - 80);
    const s = plot / T;
    const at = (q: number, k: number) => pixel(c, 100 + (k + 0.5) * s, 76 + (q + 0.5) * s);
    const bg = pixel(c, 5, c.getBoundingClientRect().height - 3);
    const [r0, , b0] = at(10, 0); // key 0: positive
    const [r1, , b1] = at(10, 1); // key 1: negative
    assert(r0 > b0 + 40, `positive cell is warm: rgb ${at(10, 0)}`);
    assert(b1 > r1 + 40, `negative cell is cool: rgb ${at(10, 1)}`);
    assert(at(2, 9).join() === bg.join(), `a key after the query is masked (background ${bg}): ${at(2, 9)}`);
    assert(v.describe(10, 1).includes('query #10 "tok10" → key #1 "tok1": weight -'), v.describe(10, 1));
    // Labels use the theme's editor font (here the fallback): a CSS variable in ctx.font would be dropped for 10px sans-serif.
    const font = c.getContext('2d')!.font;
    assert(/monospace/.test(font), `label font ${font}`);
    // A click on a cell focuses its query token.
    const rect = c.getBoundingClientRect();
    const opts = { clientX: rect.left + 100 + 3.5 * s, clientY: rect.top + 76 + 7.5 * s, bubbles: true, pointerId: 1 };
    c.dispatchEvent(new PointerEvent('pointerdown', opts));
    c.dispatchEvent(new PointerEvent('pointerup', opts));
    assert(focused === 7, `clicked row 7 focuses token 7, got ${focused}`);
  } finally {
    box.remove();
  }
});

it('explorer map at 2,048 tokens: one image scaled per frame; zoom and pan frames measured', ['nogpu'], async () => {
  const T = 2048;
  const v = new MapView('t-map-big', { focus: () => undefined, detail: async () => undefined });
  const box = mount(v.root, 900);
  try {
    const t0 = performance.now();
    v.set({ cells: T, tokens: T, data: signedMap(T), labels: Array.from({ length: T }, (_, i) => `t${i}`), title: 'big', maxAbs: 1 });
    const first = performance.now() - t0;
    v.drawTimes.length = 0;
    v.canvas.focus();
    const key = (k: string) => v.canvas.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
    for (let i = 0; i < 5; i++) key('+');
    for (let i = 0; i < 40; i++) key(i % 2 ? 'PageDown' : 'ArrowRight');
    for (let i = 0; i < 5; i++) key('-');
    const times = [...v.drawTimes].sort((a, b) => a - b);
    assert(times.length >= 50, `${times.length} frames drawn`);
    const median = times[Math.floor(times.length / 2)];
    const p95 = times[Math.floor(times.length * 0.95)];
    note = `first draw (rasterise 4.2 M cells) ${first.toFixed(0)} ms; ${times.length} zoom/pan frames: median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`;
    // Not a timing target (BENCHMARKS.md has those): a bound that only a per-cell redraw (seconds) would break.
    assert(median < 250, `median frame ${median.toFixed(0)} ms: frames redraw cells one by one?`);
  } finally {
    box.remove();
  }
});

it('explorer strips: one scale over A1, λ·A2 and A1 − λ·A2; exact zeros and negatives counted per strip', ['nogpu'], async () => {
  const st = new Strips('t-strips', () => undefined);
  const box = mount(st.root, 700);
  try {
    const a1 = Float32Array.from([0.5, 0.3, 0.2, 0, 0]);
    const la2 = Float32Array.from([0.1, 0.3, 0.4, 0, 0]);
    const a = a1.map((x, i) => x - la2[i]);
    st.set([{ id: 'a1', name: 'A1', title: '', values: a1 }, { id: 'la2', name: 'λ·A2', title: '', values: la2 }, { id: 'a', name: 'A1 − λ·A2', title: '', values: a }], ['a', 'b', 'c', 'd', 'e'], 2);
    const row = (id: string) => box.querySelector(`[data-testid="t-strips-${id}"]`)!.textContent;
    assert(row('a') === 'A1 − λ·A2 neg 1 · zero 1', `difference strip: ${row('a')}`);
    assert(row('a1') === 'A1 neg 0 · zero 0', `A1 strip: ${row('a1')}`);
    assert(st.describe(2).startsWith('key #2 "c": A1 0.2000 · λ·A2 0.4000 · A1 − λ·A2 -0.2000'), st.describe(2));
  } finally {
    box.remove();
  }
});

/** Runs the tests of a mode; `grep` (ATTN_BROWSER_GREP, a regular expression) runs only the names it matches. */
async function runAll(mode: Mode, grep = ''): Promise<Result[]> {
  const results: Result[] = [];
  const only = grep ? new RegExp(grep) : undefined;
  for (const t of tests.filter((t) => t.modes.includes(mode) && (!only || only.test(t.name)))) {
    const t0 = performance.now();
    try {
      note = undefined;
      await t.fn();
      results.push({ name: `[${mode}] ${t.name}`, ok: true, ms: performance.now() - t0, ...(note ? { note } : {}) });
    } catch (e) {
      results.push({ name: `[${mode}] ${t.name}`, ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e), ms: performance.now() - t0 });
    }
  }
  return results;
}
(window as unknown as { runTests: typeof runAll }).runTests = runAll;
