/**
 * The one place in the webview that knows onnxruntime-web. ORT's WebGPU build is bundled into webview.js;
 * its wasm glue (.mjs) and binary (.wasm) ship in dist/ort and are loaded from the URL the host gives.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { ORT_RUNTIME_FILES } from '../../src/core/ortFiles';
import type { Backend } from '../../src/core/protocol';

export { ort };

let configuredBase: string | undefined;

/** Points ORT at its shipped files, after checking each is really there so a missing one is named. */
export async function configureOrt(baseUrl: string): Promise<void> {
  if (configuredBase === baseUrl) return;
  for (const f of ORT_RUNTIME_FILES) {
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
  ort.env.wasm.wasmPaths = baseUrl;
  // Webviews are not cross-origin isolated: no SharedArrayBuffer, so wasm runs single-threaded.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'warning';
  configuredBase = baseUrl;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The backend ORT actually uses: WebGPU can fall back to wasm when its device cannot be created. */
  backend: Backend;
}

export async function openSession(model: Uint8Array, backend: Backend): Promise<OpenedSession> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all',
  });
  let actual: Backend = 'wasm';
  if (backend === 'webgpu') {
    const device = await Promise.resolve(ort.env.webgpu.device).catch(() => undefined);
    actual = device ? 'webgpu' : 'wasm';
  }
  return { session, backend: actual };
}
