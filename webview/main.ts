import * as z from 'zod';
import { adapterKey, checkBackendTiming, parseToWebview, rememberTiming, type Backend, type BackendPreference, type BackendTiming, type Capabilities, type ToHost, type ToWebview } from '../src/core/protocol';
import { AnalysisController } from './analysisController';
import { detectCapabilities } from './capabilities';
import { binaryLoad, configureOrt, openSession, ortReady } from './engine/ortRuntime';
import { runProbe } from './engine/probe';
import { timeBackends } from './engine/backendTiming';
import { AttentionEngine } from './engine/engine';
import { STATS_FILES } from '../src/core/statsFiles';
import { InspectorView } from './views/inspectorView';
import { renderRuntimeView, type RuntimeViewState } from './views/runtimeView';
import { vscodeApi } from './vscodeApi';
import { mark, startTimeline } from './startTimeline';
import { dropEarly, openFileCache } from './fileCache';

mark('script');

const vscode = vscodeApi<{ probe?: RuntimeViewState['probe'] }>();
const app = document.getElementById('app') as HTMLElement;
const inspectorRoot = document.createElement('div');
inspectorRoot.className = 'inspector';
const root = document.createElement('section');
root.className = 'runtime';
app.replaceChildren(inspectorRoot, root);
const body = document.body.dataset;
const ortBase = body.ortBase ?? '';
const probeUrl = body.probe ?? '';
const missingFiles = safeJsonArray(body.missing);
openFileCache(body.fileStamp || undefined);
// Layer statistics on wasm run ORT's kernels on a small graph the build writes beside the probe (dist/stats-*.onnx).
const statsGraphs = new Map<string, Promise<Uint8Array>>();
AttentionEngine.statsGraphs = (kind) => {
  let p = statsGraphs.get(kind);
  if (!p) {
    p = fetch(new URL(STATS_FILES[kind], probeUrl)).then(async (r) => {
      if (!r.ok) throw new Error(`the statistics graph ${STATS_FILES[kind]} could not be loaded from the extension (HTTP ${r.status})`);
      return new Uint8Array(await r.arrayBuffer());
    });
    p.catch(() => statsGraphs.delete(kind));
    statsGraphs.set(kind, p);
  }
  return p;
};
/** The host's remembered timings of wasm against WebGPU, per adapter (chooseBackend). */
let timings: BackendTiming[] = parseTimings(body.backendTimings);
// The CSP forbids eval: zod must not try to compile validators with new Function.
z.config({ jitless: true });

const state: RuntimeViewState = { running: false, missingFiles, probe: vscode.getState()?.probe };
let preference: BackendPreference = body.backend === 'webgpu' || body.backend === 'wasm' ? body.backend : 'auto';
let latestProbe = 0;
/** ORT cannot create two WebGPU sessions at once: requests that run models go through this chain, one at a time. */
let modelWork: Promise<unknown> = Promise.resolve();
function serial<T>(job: () => Promise<T>): Promise<T> {
  const next = modelWork.then(job, job);
  modelWork = next.catch(() => undefined);
  return next;
}

const analyses = new AnalysisController(body.models ?? '', serial);
let lastHostRequest = 0;
analyses.onLog = (m) => log('info', m);
const inspector = new InspectorView(inspectorRoot, analyses, (m) => send(m), () => performance.now() - lastHostRequest);

function send(msg: ToHost): void {
  vscode.postMessage(msg);
}
function render(): void {
  renderRuntimeView(root, state);
}
function log(level: 'info' | 'warn' | 'error', message: string): void {
  send({ method: 'log', level, message });
}

function parseTimings(s: string | undefined): BackendTiming[] {
  try {
    const v: unknown = JSON.parse(s ?? '[]');
    return Array.isArray(v) ? v.filter((t): t is BackendTiming => checkBackendTiming(t) === null) : [];
  } catch {
    return [];
  }
}

/** Tokens of the timing forward: a typical window, one chunk. */
const TIMING_TOKENS = 512;
let timingStarted = false;

/**
 * `auto` chose WebGPU on a hardware adapter never timed here: once the first analysis is done and the panel is idle,
 * time a bundled model's forward on both backends, tell the host (which remembers it for this machine) and use the
 * faster from then on.
 */
function timeAdapterSoon(caps: Capabilities): void {
  if (timingStarted || !caps.untimed || !caps.adapter) return;
  timingStarted = true;
  const adapter = adapterKey(caps.adapter);
  setTimeout(() => {
    void (async () => {
      const model = 'twin-diff';
      const { manifest, bytes } = await analyses.fetchBundled(model);
      // Both builds' binaries are fetched before the lane is taken, so the lane is held only while sessions run.
      await Promise.all([ortReady('wasm'), ortReady('webgpu')]);
      const t = await serial(() => timeBackends(manifest, bytes, TIMING_TOKENS));
      if (t.webgpuRanOn !== 'webgpu') throw new Error('ONNX Runtime could not create a WebGPU device');
      const timing: BackendTiming = { adapter, model, tokens: Math.min(TIMING_TOKENS, manifest.maxContext), wasmMs: t.wasmMs, webgpuMs: t.webgpuMs, at: new Date().toISOString() };
      timings = rememberTiming(timings, timing);
      send({ method: 'backend/timed', timing });
      state.capabilities = await detectCapabilities(preference, timings);
      send({ method: 'capabilities/didChange', capabilities: state.capabilities });
      render();
      log('info', `backends timed: ${state.capabilities.backendReason}; using ${state.capabilities.backend}`);
    })().catch((e) => log('warn', `timing WebGPU against wasm failed, WebGPU stays: ${e instanceof Error ? e.message : String(e)}`));
  }, 1500);
}

function safeJsonArray(s: string | undefined): string[] {
  try {
    const v: unknown = JSON.parse(s ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Every model run starts here: the runtime files must be there, the backend is chosen, ORT is pointed at its files. */
async function runtimeFor(preference: BackendPreference): Promise<Capabilities> {
  if (missingFiles.length) throw new Error(`files missing from the extension: ${missingFiles.join(', ')}`);
  const t0 = performance.now();
  const caps = await detectCapabilities(preference, timings);
  const t1 = performance.now();
  const first = configureOrt(ortBase);
  if (first) log('info', `runtime configured: adapter check ${Math.round(t1 - t0)} ms`);
  return caps;
}

async function handle(msg: ToWebview): Promise<void> {
  switch (msg.method) {
    case 'config/didChange':
      if (msg.backendPreference !== preference) {
        preference = msg.backendPreference;
        state.capabilities = await detectCapabilities(preference, timings);
        send({ method: 'capabilities/didChange', capabilities: state.capabilities });
        render();
        if (!missingFiles.length) void warmRuntime(state.capabilities.backend).catch(() => undefined);
      }
      return;
    case 'probe/run': {
      const mine = ++latestProbe;
      state.running = true;
      state.error = undefined;
      render();
      try {
        const caps = await runtimeFor(msg.backendPreference);
        log('info', `probe ${msg.id}: ${msg.tokens} tokens on ${caps.backend}`);
        const resp = await fetch(probeUrl);
        if (!resp.ok) throw new Error(`the probe model could not be loaded from the extension (HTTP ${resp.status})`);
        const model = new Uint8Array(await resp.arrayBuffer());
        await ortReady(caps.backend); // ORT's binary fetched outside the lane
        const result = await serial(() => runProbe(model, caps.backend, msg.tokens));
        if (caps.backend === 'webgpu' && result.backend === 'wasm') {
          log('warn', 'a WebGPU adapter exists but ONNX Runtime fell back to wasm');
        }
        state.capabilities = { ...caps, backend: result.backend, backendReason: result.backend === caps.backend ? caps.backendReason : 'ONNX Runtime could not create a WebGPU device and fell back to wasm' };
        if (mine === latestProbe) {
          state.probe = result;
          vscode.setState({ probe: result });
        }
        send({ method: 'probe/run/done', id: msg.id, ok: true, result });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        if (mine === latestProbe) state.error = error;
        send({ method: 'probe/run/done', id: msg.id, ok: false, error });
      } finally {
        if (mine === latestProbe) state.running = false;
        render();
      }
      return;
    }
    case 'model/warm':
      mark('warm request');
      try {
        const caps = await runtimeFor(msg.backendPreference);
        const t0 = performance.now();
        await analyses.warm(msg.model, caps.backend);
        log('info', `model ${msg.model} ready on ${caps.backend} in ${Math.round(performance.now() - t0)} ms (loaded before the analysis)`);
      } catch (e) {
        log('warn', `warming ${msg.model} failed (the analysis will say why): ${e instanceof Error ? e.message : String(e)}`);
      }
      return;
    case 'analysis/run':
      mark('analysis request');
      return answer('analysis/run/done', msg.id, async () => {
        const caps = await runtimeFor(msg.backendPreference);
        let reported = 0;
        const result = await analyses.run(msg.model, caps.backend, msg.ids, (p) => {
          // At most ~20 reports per run, and none for a run of one chunk.
          if (p.chunks > 1 && (p.done === p.total || p.done - reported >= p.total / 20)) {
            reported = p.done;
            send({ method: 'analysis/progress', id: msg.id, done: p.done, total: p.total });
          }
        });
        dropEarly();
        log('info', `analysis ${msg.id}: ${result.tokens} tokens with ${result.model} on ${result.backend} (${result.backend === caps.backend ? caps.backendReason : 'ONNX Runtime fell back from WebGPU'}) in ${Math.round(result.runMs)} ms`);
        if (result.backend === 'webgpu') timeAdapterSoon(caps);
        mark('forward done');
        const timeline = startTimeline();
        if (timeline) log('info', `the panel's start, ms since its page began: ${timeline}`);
        return result;
      });
    case 'model/load':
      return answer('model/load/done', msg.id, async () => {
        const caps = await runtimeFor(msg.backendPreference);
        const r = await analyses.load(msg.model, msg.manifest, msg.onnx, caps.backend);
        log('info', `model ${msg.model} loaded (${(msg.onnx.byteLength / 2 ** 20).toFixed(1)} MB) on ${caps.backend}: attention read from ${r.readFrom === 'qk' ? 'Q/K' : `the softmax outputs (Q/K differ by ${r.maxError.toExponential(1)}), inputs up to ${r.tokenLimit} tokens`}${r.cacheNote ? `; ${r.cacheNote}` : ''}`);
        return r;
      });
    case 'analysis/query':
      return answer('analysis/query/done', msg.id, () => analyses.query(msg.model, msg.query));
    case 'analysis/rows':
      return answer('analysis/rows/done', msg.id, () => analyses.rows(msg.model, msg.query));
    case 'analysis/clear':
      analyses.clear();
      inspector.update(null);
      return;
    case 'view/update':
      inspector.update(msg.state);
      return;
    case 'export/png':
      return answer('export/png/done', msg.id, async () => inspector.exportPng());
  }
}

type Done = Extract<ToHost, { ok: true }>;
/** Runs a request's work and sends its `…/done` answer: the result, or the error's message. */
async function answer<M extends Done['method']>(method: M, id: number, work: () => Promise<Extract<Done, { method: M }>['result']>): Promise<void> {
  try {
    send({ method, id, ok: true, result: await work() } as ToHost);
  } catch (e) {
    send({ method, id, ok: false, error: e instanceof Error ? e.message : String(e) } as ToHost);
  }
}

window.addEventListener('message', (event: MessageEvent) => {
  const parsed = parseToWebview(event.data);
  if (!parsed.ok) {
    console.warn(`[attention-inspector] dropped message (method ${parsed.method}): ${parsed.reason}`);
    log('warn', `webview dropped an invalid message (method ${parsed.method}): ${parsed.reason}`);
    return;
  }
  if (parsed.message.method.startsWith('analysis/')) lastHostRequest = performance.now();
  handle(parsed.message).catch((e) => log('error', `handling ${parsed.message.method} failed: ${String(e)}`));
});

window.addEventListener('unhandledrejection', (e) => log('error', `unhandled rejection in the panel: ${String(e.reason)}`));

/**
 * Loads and compiles ONNX Runtime's WebAssembly for a backend once, by running (and closing) a session of the tiny
 * probe graph: started when the panel starts, it runs while the host tokenizes and the model file is fetched, so
 * the first analysis does not wait for it after them.
 */
const runtimeWarmed = new Map<string, Promise<void>>();
function warmRuntime(backend: Backend): Promise<void> {
  let p = runtimeWarmed.get(backend);
  if (!p) {
    p = (async () => {
      const t0 = performance.now();
      configureOrt(ortBase);
      // ORT's binary is fetched and inflated outside the one-at-a-time lane, alongside the probe (and, soon, the
      // model's file): only starting ORT and creating sessions need the lane.
      const [bytes] = await Promise.all([
        fetch(probeUrl).then(async (resp) => {
          if (!resp.ok) throw new Error(`the probe model could not be loaded (HTTP ${resp.status})`);
          return new Uint8Array(await resp.arrayBuffer());
        }),
        ortReady(backend),
      ]);
      const t1 = performance.now();
      mark('ORT files ready');
      let t2 = t1;
      let probeError = NaN;
      // Created and released inside the one-at-a-time lane: ORT's WebGPU build (asyncify) corrupts its memory when a
      // session is released while another is being created (seen: "memory access out of bounds").
      await serial(async () => {
        t2 = performance.now();
        // On wasm the probe is also run once: a first run compiles the code of ORT's run path and of its matrix,
        // softmax and transpose kernels (Chromium compiles wasm functions when first called), which the model's first
        // forward would otherwise pay for after its download. On WebGPU a run would compile shaders the model does not
        // share (3.8 s on SwiftShader, measured) while the model's session waits in the lane: the session only.
        if (backend === 'wasm') probeError = (await runProbe(bytes, backend, 64)).maxAbsError;
        else await (await openSession(bytes, backend)).session.release();
        mark('ORT started');
      });
      const b = await binaryLoad(backend);
      const ms = (a: number, z: number) => Math.round(z - a);
      const how = !b ? '' : b.source === 'cache' ? `its binary ${(b.bytes / 2 ** 20).toFixed(1)} MB read from the panel's cache in ${ms(0, b.fetchMs)} ms; ` : `its binary ${(b.fetchedBytes / 2 ** 20).toFixed(1)} MB fetched in ${ms(0, b.fetchMs)} ms and inflated to ${(b.bytes / 2 ** 20).toFixed(1)} MB in ${ms(0, b.inflateMs)} ms; `;
      log('info', `ONNX Runtime (${backend}) loaded and compiled in ${ms(t0, performance.now())} ms, before any model needed it: ${how}files ready after ${ms(t0, t1)} ms, waited ${ms(t1, t2)} ms for the model lane, ORT started and the probe ${Number.isNaN(probeError) ? 'session created' : 'run'} in ${ms(t2, performance.now())} ms${Number.isNaN(probeError) ? '' : ` (its largest difference from the reference ${probeError.toExponential(1)})`}`);
    })();
    p.catch((e) => {
      runtimeWarmed.delete(backend);
      log('warn', `preloading ONNX Runtime failed (an analysis will say why): ${e instanceof Error ? e.message : String(e)}`);
    });
    runtimeWarmed.set(backend, p);
  }
  return p;
}

async function start(): Promise<void> {
  render();
  const t0 = performance.now();
  state.capabilities = await detectCapabilities(preference, timings);
  log('info', `panel script started ${Math.round(t0)} ms after the page began; the adapter check took ${Math.round(performance.now() - t0)} ms`);
  render();
  send({ method: 'webview/ready', capabilities: state.capabilities });
  mark('ready');
  if (!missingFiles.length) void warmRuntime(state.capabilities.backend).catch(() => undefined);
}
void start();
