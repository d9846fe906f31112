import { adapterKey, chooseBackend, isSoftwareAdapter, type BackendPreference, type BackendTiming, type Capabilities, type GpuAdapterInfo } from '../src/core/protocol';

/**
 * Asks the browser for a WebGPU adapter and says, in words a user can act on, why there is none; picks the backend
 * (chooseBackend), with this adapter's timing if the host remembers one.
 */
export async function detectCapabilities(preference: BackendPreference, timings: readonly BackendTiming[] = []): Promise<Capabilities> {
  let adapter: GpuAdapterInfo | null = null;
  let reason: string | null = null;
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    reason = isSecureContext
      ? 'this VS Code build exposes no WebGPU (navigator.gpu is missing); start it with --enable-unsafe-webgpu or use a build with WebGPU'
      : 'the webview is not a secure context (open VS Code on localhost or https)';
  } else {
    try {
      const a = await gpu.requestAdapter();
      if (!a) {
        reason =
          'requestAdapter() returned no adapter: no usable GPU, WebGPU blocklisted for this GPU/driver, or (on Linux) VS Code started without --enable-unsafe-webgpu';
      } else {
        const info = a.info;
        const names = { vendor: info?.vendor ?? '', architecture: info?.architecture ?? '', device: info?.device ?? '', description: info?.description ?? '' };
        // isFallbackAdapter moved from the adapter to its info (Chromium 136); either may be there.
        const fallback = !!((info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (a as { isFallbackAdapter?: boolean }).isFallbackAdapter);
        adapter = { ...names, shaderF16: a.features.has('shader-f16'), software: isSoftwareAdapter(names, fallback) };
      }
    } catch (e) {
      reason = `requestAdapter() failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return {
    adapter,
    webgpuUnavailableReason: reason,
    ...(() => {
      const c = chooseBackend(preference, adapter, adapter ? timings.find((t) => t.adapter === adapterKey(adapter!)) : undefined);
      return { backend: c.backend, backendReason: adapter || preference === 'wasm' ? c.reason : `${c.reason}: ${reason}`, ...(c.untimed ? { untimed: true } : {}) };
    })(),
    crossOriginIsolated: typeof crossOriginIsolated === 'boolean' ? crossOriginIsolated : false,
    userAgent: navigator.userAgent,
  };
}
