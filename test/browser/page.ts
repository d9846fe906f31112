// Runs inside headless Chromium (see run.mjs). Each test returns normally or throws; results go back to Node.
import { seededRandom } from '../../src/core/probe';
import { detectCapabilities } from '../../webview/capabilities';
import { attentionRowCpu } from '../../webview/engine/kernels/attentionRow.cpu';
import { attentionRowGpu } from '../../webview/engine/kernels/attentionRow.wgsl';
import { configureOrt, openSession, ort } from '../../webview/engine/ortRuntime';
import { runProbe } from '../../webview/engine/probe';

type Mode = 'webgpu' | 'nogpu';
interface Result { name: string; ok: boolean; error?: string; ms: number }
const tests: { name: string; modes: Mode[]; fn: () => Promise<void> }[] = [];
const it = (name: string, modes: Mode[], fn: () => Promise<void>) => tests.push({ name, modes, fn });

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

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

it('a WebGPU adapter exists (software adapter under --enable-unsafe-webgpu)', ['webgpu'], async () => {
  const caps = await detectCapabilities('auto');
  assert(caps.adapter, `no adapter: ${caps.webgpuUnavailableReason}`);
  assert(caps.backend === 'webgpu', `backend ${caps.backend}`);
  assert(caps.webgpuUnavailableReason === null, 'no reason when an adapter exists');
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

it('WGSL attentionRow equals its CPU twin (T = 1, 7, 37, 300 > workgroup; d = 16, 3)', ['webgpu'], async () => {
  const dev = await gpuDevice();
  for (const [T, d] of [[1, 16], [7, 16], [37, 16], [300, 16], [300, 3]]) {
    const q = randn(T * d, T * 31 + d);
    const k = randn(T * d, T * 17 + d);
    for (const query of new Set([0, Math.floor(T / 2), T - 1])) {
      const x = { q, k, tokens: T, headDim: d, query, scale: 1 / Math.sqrt(d) };
      const gpu = await attentionRowGpu(dev, x);
      const cpu = attentionRowCpu(x);
      assertClose(gpu, cpu, 1e-6, 1e-5, `T=${T} d=${d} query=${query}`);
      for (let j = query + 1; j < T; j++) assert(gpu[j] === 0, `causal entry ${j} is exactly 0 on the GPU`);
    }
  }
});

it('the WGSL kernel rejects a query outside the sequence before touching the GPU', ['webgpu'], async () => {
  const dev = await gpuDevice();
  let msg = '';
  try {
    await attentionRowGpu(dev, { q: new Float32Array(4), k: new Float32Array(4), tokens: 2, headDim: 2, query: 5, scale: 1 });
  } catch (e) {
    msg = String(e);
  }
  assert(/query 5 is outside 0\.\.1/.test(msg), `message: ${msg}`);
});

it('a missing ORT file is named in the error', ['webgpu', 'nogpu'], async () => {
  let msg = '';
  try {
    await configureOrt('/no-such-folder/');
  } catch (e) {
    msg = String(e);
  }
  assert(msg.includes('ort-wasm-simd-threaded.asyncify.mjs') && msg.includes('404'), `message: ${msg}`);
});

it('ORT on WebGPU runs the probe model and matches the JavaScript reference', ['webgpu'], async () => {
  await configureOrt('/dist/ort/');
  const r = await runProbe(await probeModel(), 'webgpu', 24);
  assert(r.backend === 'webgpu', `ran on ${r.backend}`);
  assert(r.maxAbsError < 1e-5, `max error ${r.maxAbsError}`);
});

it("our WGSL kernel runs on ORT's own GPU device", ['webgpu'], async () => {
  await configureOrt('/dist/ort/');
  // The session must stay open: ORT tears its device down when the last WebGPU session is released.
  const { session, backend } = await openSession(await probeModel(), 'webgpu');
  try {
    assert(backend === 'webgpu', `session on ${backend}`);
    const dev = (await ort.env.webgpu.device) as GPUDevice | undefined;
    assert(dev, 'ORT exposes its device while a WebGPU session is open');
    const x = { q: randn(40 * 8, 1), k: randn(40 * 8, 2), tokens: 40, headDim: 8, query: 39, scale: 0.35 };
    assertClose(await attentionRowGpu(dev, x), attentionRowCpu(x), 1e-6, 1e-5, 'on ORT device');
  } finally {
    await session.release();
  }
});

it('ORT on wasm runs the probe model and matches the JavaScript reference', ['webgpu', 'nogpu'], async () => {
  await configureOrt('/dist/ort/');
  const r = await runProbe(await probeModel(), 'wasm', 24);
  assert(r.backend === 'wasm', `ran on ${r.backend}`);
  assert(r.maxAbsError < 1e-5, `max error ${r.maxAbsError}`);
});

it('WebGPU and wasm sessions alternate in one page (webgpu → wasm → webgpu)', ['webgpu'], async () => {
  await configureOrt('/dist/ort/');
  const m = await probeModel();
  for (const b of ['webgpu', 'wasm', 'webgpu'] as const) {
    const r = await runProbe(m, b, 12);
    assert(r.backend === b && r.maxAbsError < 1e-5, `${b}: ran on ${r.backend}, error ${r.maxAbsError}`);
  }
});

async function runAll(mode: Mode): Promise<Result[]> {
  const results: Result[] = [];
  for (const t of tests.filter((t) => t.modes.includes(mode))) {
    const t0 = performance.now();
    try {
      await t.fn();
      results.push({ name: `[${mode}] ${t.name}`, ok: true, ms: performance.now() - t0 });
    } catch (e) {
      results.push({ name: `[${mode}] ${t.name}`, ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e), ms: performance.now() - t0 });
    }
  }
  return results;
}
(window as unknown as { runTests: typeof runAll }).runTests = runAll;
