/**
 * The one place in the webview that knows onnxruntime-web. Two of ORT's builds are bundled into webview.js: the
 * WebGPU build (whose wasm is the asyncify binary, 27 MB) for the webgpu backend, and the plain wasm build (14 MB,
 * no asyncify) for the wasm backend, so a machine without a usable GPU fetches, compiles and runs the smaller, faster
 * binary. Each build is a separate copy of ORT (its own env and tensors): a session takes the tensors of its own
 * build, which ortFor gives. Their wasm glue (.mjs) and binaries (.wasm) ship in dist/ort.
 */
import * as ort from 'onnxruntime-web/webgpu';
import * as ortWasm from 'onnxruntime-web/wasm';
import { ORT_RUNTIME_FILES } from '../../src/core/ortFiles';
import type { Backend } from '../../src/core/protocol';

export { ort, ortWasm };

/** The ORT build that runs a backend. */
export function ortFor(backend: Backend): typeof ort {
  return backend === 'webgpu' ? ort : (ortWasm as typeof ort);
}

let configured: { base: string; done: Promise<void> } | undefined;

/**
 * Points ORT at its shipped files, after checking that its glue files (.mjs) are really served, so a missing one is
 * named. The binaries (.wasm, 14 and 27 MB) are not fetched for the check: a webview's HEAD request reads the whole
 * file through the workbench (15 s for both on this machine, measured); the host checks that they are installed
 * (PanelProvider.missingRuntimeFiles) before the panel runs anything. Concurrent callers share one check.
 * Returns true to the caller that did the check.
 */
export async function configureOrt(baseUrl: string): Promise<boolean> {
  if (configured?.base === baseUrl) {
    await configured.done;
    return false;
  }
  const done = (async () => {
    for (const f of ORT_RUNTIME_FILES.filter((name) => name.endsWith('.mjs'))) {
      let ok = false;
      let detail = '';
      try {
        const r = await fetch(baseUrl + f, { method: 'HEAD' });
        ok = r.ok;
        detail = `HTTP ${r.status}`;
      } catch (e) {
        detail = e instanceof Error ? e.message : String(e);
      }
      if (!ok) throw new Error(`ONNX Runtime file ${f} could not be loaded from the extension (${detail}). Reinstall the extension or run "npm run build".`);
    }
    for (const o of [ort, ortWasm]) {
      o.env.wasm.wasmPaths = baseUrl;
      // Webviews are not cross-origin isolated: no SharedArrayBuffer, so wasm runs single-threaded.
      o.env.wasm.numThreads = 1;
      o.env.wasm.proxy = false;
      o.env.logLevel = 'warning';
    }
  })();
  configured = { base: baseUrl, done };
  done.catch(() => {
    if (configured?.done === done) configured = undefined;
  });
  await done;
  return true;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The ORT build the session belongs to: its tensors are the ones the session takes. */
  ort: typeof ort;
  /** The backend ORT actually uses: WebGPU can fall back to wasm when its device cannot be created. */
  backend: Backend;
}

export async function openSession(model: Uint8Array, backend: Backend): Promise<OpenedSession> {
  const session = await ortFor(backend).InferenceSession.create(model, {
    executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all',
  });
  let actual: Backend = 'wasm';
  if (backend === 'webgpu') {
    const device = await Promise.resolve(ort.env.webgpu.device).catch(() => undefined);
    actual = device ? 'webgpu' : 'wasm';
  }
  return { session, ort: ortFor(backend), backend: actual };
}
