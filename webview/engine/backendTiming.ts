/**
 * Times the two backends on this machine's adapter, for `auto` on a hardware adapter (chooseBackend): the same
 * model's forward over the same ids on wasm and on WebGPU, each in a fresh engine (the panel's own engines and their
 * analyses are not touched), warm: the first run compiles shaders and kernels, the best of the next two is the time.
 */
import type { Manifest } from '../../src/core/manifest';
import type { Backend } from '../../src/core/protocol';
import { AttentionEngine } from './engine';
import { ortReady } from './ortRuntime';

export interface Timed {
  wasmMs: number;
  webgpuMs: number;
  /** The backend ORT really ran for "webgpu" (wasm when it could not create a WebGPU device). */
  webgpuRanOn: Backend;
}

/** Deterministic ids spread over the vocabulary (not a real text: the time of a forward does not depend on it). */
export const timingIds = (tokens: number, vocab: number) => Array.from({ length: tokens }, (_, i) => (i * 7919 + 13) % vocab);

export async function timeBackends(manifest: Manifest, onnx: Uint8Array, tokens: number): Promise<Timed> {
  const ids = timingIds(Math.min(tokens, manifest.maxContext), manifest.vocabSize);
  const ms: Partial<Record<Backend, number>> = {};
  let webgpuRanOn: Backend = 'webgpu';
  for (const backend of ['wasm', 'webgpu'] as const) {
    const engine = await AttentionEngine.create(await ortReady(backend), manifest, onnx, backend);
    try {
      if (backend === 'webgpu') webgpuRanOn = engine.backend;
      let best = Infinity;
      for (let run = 0; run < 3; run++) {
        const t0 = performance.now();
        const a = await engine.analyze(ids);
        // WebGPU work is queued, not done, when run() returns: reading the logits waits for it.
        await a.logits();
        if (run > 0) best = Math.min(best, performance.now() - t0);
      }
      ms[backend] = best;
    } finally {
      await engine.release();
    }
  }
  return { wasmMs: ms.wasm!, webgpuMs: ms.webgpu!, webgpuRanOn };
}
