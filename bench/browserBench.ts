// The engine benchmark inside headless Chromium: wasm timings (1 thread, as in a VS Code webview) and, on the
// software WebGPU adapter, a correctness check only (SwiftShader is ~100× slower than real GPUs: no speed figures).
import { parseManifest } from '../src/core/manifest';
import { seededRandom } from '../src/core/probe';
import { configureOrt, ort, ortReady } from '../webview/engine/ortRuntime';
import { AttentionEngine } from '../webview/engine/engine';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function run(lengths: number[]) {
  await configureOrt('/dist/ort/');
  await ortReady('webgpu');
  await ortReady('wasm');
  const parsed = parseManifest(await (await fetch('/media/models/twin-diff/manifest.json')).json());
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const m = parsed.manifest;
  const onnx = new Uint8Array(await (await fetch('/media/models/twin-diff/model.onnx')).arrayBuffer());
  const points: Record<string, unknown>[] = [];
  const engine = await AttentionEngine.create(ort, m, onnx, 'wasm');
  try {
    for (const T of lengths) {
      const rand = seededRandom(T);
      const ids = Array.from({ length: T }, () => 1 + Math.floor(rand() * (m.vocabSize - 1)));
      const fw: number[] = [];
      let a = await engine.analyze(ids);
      for (let r = 0; r < (T <= 1024 ? 5 : 3); r++) {
        const t0 = performance.now();
        a = await engine.analyze(ids);
        fw.push(performance.now() - t0);
      }
      await a.rows(T - 1);
      const rw: number[] = [];
      for (let r = 0; r < 7; r++) {
        const t0 = performance.now();
        await a.rows(T - 1 - r);
        rw.push(performance.now() - t0);
      }
      const t0 = performance.now();
      for (let l = 0; l < m.layers; l++) await a.stats(l);
      const st = performance.now() - t0;
      points.push({ T, forwardWasmMs: median(fw), rowsAllHeadsMs: median(rw), statsAllHeadsMs: st, statsOverForward: st / median(fw) });
    }
  } finally {
    await engine.release();
  }
  // Correctness on the software WebGPU adapter: the same rows as wasm.
  let webgpu: Record<string, unknown> = { available: false };
  if ((navigator as Navigator & { gpu?: unknown }).gpu) {
    const ids = Array.from({ length: 64 }, (_, i) => 1 + ((i * 37) % (m.vocabSize - 1)));
    const rows: Float32Array[][] = [];
    let backend = '';
    for (const b of ['webgpu', 'wasm'] as const) {
      const e = await AttentionEngine.create(ort, m, onnx, b);
      if (b === 'webgpu') backend = e.backend;
      try {
        const r = await (await e.analyze(ids)).rows(63);
        rows.push(r.layers.flatMap((l) => l.heads.map((h) => h.a)));
      } finally {
        await e.release();
      }
    }
    let maxDiff = 0;
    rows[0].forEach((row, i) => row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - rows[1][i][j])))));
    webgpu = { available: backend === 'webgpu', maxAbsDiffRowsVsWasm: maxDiff, T: 64 };
  }
  return { points, webgpu, userAgent: navigator.userAgent };
}
(window as unknown as { runBench: typeof run }).runBench = run;
