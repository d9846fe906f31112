/**
 * Chunked prefill: runs a graph that takes a key/value cache (manifest "cache") over the text in chunks, feeding each
 * chunk's present keys/values to the next, so the graph's attention holds [chunk × T], never [T × T]. The outputs
 * the inspector reads are gathered along their token axis into tensors over the whole text, so an Analysis cannot
 * tell them from a single pass: on WebGPU, Q/K chunks are copied into one GPU buffer per layer (they never leave
 * the GPU); elsewhere they are copied on the CPU. The logits are kept whole while they fit LOGITS_KEEP_BYTES; beyond
 * that they are reduced to surprisal chunk by chunk, since [T × vocab] floats at 8,192 tokens would be most of the
 * memory.
 */
import type * as Ort from 'onnxruntime-web';
import type { Manifest } from '../../src/core/manifest';
import type { OrtModule } from './engine';
import { rowSurprisal } from '../../src/core/surprisal';

/** The longest logits [T × vocab] an analysis keeps whole (64 MiB); beyond it, only surprisal. */
export const LOGITS_KEEP_BYTES = 64 * 2 ** 20;

export interface ChunkProgress {
  /** Tokens run so far, and in all. */
  done: number;
  total: number;
  chunk: number;
  chunks: number;
}

export interface ChunkedOptions {
  chunkTokens: number;
  /** Checked between chunks: true stops the run, frees what it holds, and throws `cancelled()`'s error. */
  cancelled: () => boolean;
  cancelError: () => Error;
  onProgress?: (p: ChunkProgress) => void;
  /**
   * Awaited between chunks. ORT's wasm runs resolve without a task boundary, so without one a whole forward is one
   * long task: in code-server the panel's frame shares the workbench's thread, and the editor froze for the whole
   * forward (12 s at 8,192 tokens, measured). A task here lets input, painting and the host's requests in.
   */
  pause?: () => Promise<void>;
  /** The longest logits kept whole, in bytes (default LOGITS_KEEP_BYTES; tests set 0 to check the per-chunk surprisal). */
  logitsKeepBytes?: number;
  /** Extra inputs for a chunk of `tokens` tokens after `past` cached ones. */
  extraFeeds: (tokens: number, past: number) => Record<string, Ort.Tensor>;
}

/** The key/value cache of no tokens, per layer key then value, as the manifest's `cache` declares its dims and dtype. */
export function emptyCache(ort: OrtModule, m: Manifest): Ort.Tensor[] {
  if (!m.cache) return [];
  const parts = Array.from({ length: m.layers }, () => [m.cache!.key, m.cache!.value]).flat();
  return parts.map((p) => {
    const dims = p.dims.map((d) => (d === 'batch' ? 1 : d === 'past' ? 0 : d));
    return p.dtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
  });
}

export interface ChunkedResult {
  outputs: Record<string, Ort.Tensor>;
  /** −log p(token i | before) for every token (NaN for the first), when the logits were too long to keep. */
  surprisal?: Float32Array;
}

/** Where each fetched output's token axis is, from the manifest's layouts. */
function tokenAxes(m: Manifest, names: readonly string[]): Map<string, number> {
  const axes = new Map<string, number>();
  const specs = [m.outputs.logits, m.outputs.q, m.outputs.k, m.outputs.lambda, m.outputs.valueNorm, m.outputs.rowScale];
  for (const n of names) {
    for (const s of specs) {
      if (!s) continue;
      const re = new RegExp(`^${s.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace('\\{layer\\}', '\\d+')}$`);
      if (s.name === n || re.test(n)) axes.set(n, s.layout.indexOf('token'));
    }
  }
  return axes;
}

/** One output being gathered over the text: its chunks copied in as they come, on the CPU or the GPU. */
interface Gather {
  dims: number[];
  axis: number;
  cpu?: Float32Array;
  gpu?: GPUBuffer;
  /** An output without a token axis (DIFF V1's λ): the first chunk's tensor is kept as it is. */
  whole?: Ort.Tensor;
}

/** Buffers and tensors a chunked run holds while it runs (gathered outputs, the cache); tests check it returns to 0. */
export const chunkedHoldings = { count: 0 };

/** Copies a GPU buffer's first `bytes` to the CPU (what getData() of a gathered output does). */
async function readBack(device: GPUDevice, buf: GPUBuffer, bytes: number): Promise<Float32Array> {
  const size = Math.ceil(bytes / 16) * 16;
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(buf, 0, staging, 0, size);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return new Float32Array(staging.getMappedRange().slice(0, bytes));
  } finally {
    staging.destroy();
  }
}

const product = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);

export async function runChunked(ort: OrtModule, session: Ort.InferenceSession, m: Manifest, ids: readonly number[], fetch: readonly string[], device: GPUDevice | undefined, o: ChunkedOptions): Promise<ChunkedResult> {
  const cache = m.cache;
  if (!cache) throw new Error(`${m.name} takes no key/value cache`);
  const T = ids.length;
  const C = Math.max(1, Math.floor(o.chunkTokens));
  const chunks = Math.ceil(T / C);
  const V = m.vocabSize;
  const keepLogits = T * V * 4 <= (o.logitsKeepBytes ?? LOGITS_KEEP_BYTES);
  const logitsName = m.outputs.logits.name;
  const axes = tokenAxes(m, fetch);
  const present: string[] = [];
  const pastName: string[] = [];
  for (let l = 0; l < m.layers; l++) {
    for (const part of [cache.key, cache.value]) {
      present.push(part.present.replace('{layer}', String(l)));
      pastName.push(part.past.replace('{layer}', String(l)));
    }
  }
  const gathers = new Map<string, Gather>();
  let past = emptyCache(ort, m);
  chunkedHoldings.count += past.length;
  const surprisal = new Float32Array(T);
  surprisal[0] = NaN;
  let logits: Float32Array | undefined = keepLogits ? new Float32Array(T * V) : undefined;
  let out: Record<string, Ort.Tensor> | undefined;
  const freeAll = () => {
    for (const t of past) t.dispose();
    chunkedHoldings.count -= past.length;
    past = [];
    if (out) for (const t of Object.values(out)) t.dispose();
    out = undefined;
    for (const g of gathers.values()) {
      g.gpu?.destroy();
      g.whole?.dispose();
    }
    chunkedHoldings.count -= gathers.size;
    gathers.clear();
    logits = undefined;
  };
  try {
    for (let c = 0; c < chunks; c++) {
      if (c > 0) await o.pause?.();
      if (o.cancelled()) throw o.cancelError();
      const t0 = c * C;
      const n = Math.min(C, T - t0);
      const feeds: Record<string, Ort.Tensor> = {
        [m.inputs.ids.name]: new ort.Tensor('int64', BigInt64Array.from(ids.slice(t0, t0 + n), (v) => BigInt(v)), [1, n]),
        ...o.extraFeeds(n, t0),
      };
      past.forEach((t, i) => (feeds[pastName[i]] = t));
      try {
        out = { ...(await session.run(feeds, [...fetch, ...present])) } as Record<string, Ort.Tensor>;
      } catch (e) {
        throw new Error(`chunk ${c + 1} of ${chunks} (tokens ${t0}–${t0 + n - 1}) failed in ONNX Runtime: ${e instanceof Error ? e.message : String(e)}`);
      }
      // This chunk's present keys/values are the next chunk's past.
      const next = present.map((p) => out![p]);
      if (next.some((t) => !t)) throw new Error(`the model does not match its manifest: chunk ${c + 1} has no output ${present.filter((p) => !out![p]).join(', ')}`);
      for (const t of past) t.dispose();
      past = next;
      for (const p of present) delete out[p];
      const encoder = device?.createCommandEncoder();
      for (const name of fetch) {
        const t = out[name];
        if (!t) throw new Error(`the model does not match its manifest: chunk ${c + 1} has no output "${name}"`);
        if (name === logitsName) {
          const data = (await t.getData()) as Float32Array;
          if (data.length !== n * V) throw new Error(`the model does not match its manifest: logits of chunk ${c + 1} hold ${data.length} values, ${n} tokens × vocabulary ${V} = ${n * V}`);
          // Logits that are kept whole give surprisal later, on request (as a single pass does); otherwise each chunk's
          // rows are reduced now, before they are let go.
          for (let r = 0; r < n && !logits && t0 + r + 1 < T; r++) surprisal[t0 + r + 1] = rowSurprisal(data, r * V, V, ids[t0 + r + 1]);
          logits?.set(data, t0 * V);
          continue;
        }
        const axis = axes.get(name) ?? -1;
        let g = gathers.get(name);
        if (axis < 0) {
          if (!g) {
            gathers.set(name, { dims: [...t.dims], axis, whole: t });
            chunkedHoldings.count++;
            delete out[name];
          }
          continue;
        }
        if (t.type !== 'float32') throw new Error(`the model does not match its manifest: output "${name}" holds ${t.type}; the inspector reads float32 Q, K and per-token outputs`);
        if (t.dims[axis] !== n) throw new Error(`the model does not match its manifest: output "${name}" of chunk ${c + 1} has ${t.dims[axis]} tokens on its token axis, not ${n}`);
        if (!g) {
          const dims = [...t.dims];
          dims[axis] = T;
          const bytes = product(dims) * 4;
          g = t.location === 'gpu-buffer' && device && encoder
            ? { dims, axis, gpu: device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }) }
            : { dims, axis, cpu: new Float32Array(product(dims)) };
          gathers.set(name, g);
          chunkedHoldings.count++;
        }
        // [outer, n, inner] of this chunk goes to [outer, t0 .. t0 + n, inner] of the whole.
        const outer = product(g.dims.slice(0, axis));
        const inner = product(g.dims.slice(axis + 1));
        if (g.gpu && t.location === 'gpu-buffer') {
          for (let k = 0; k < outer; k++) encoder!.copyBufferToBuffer(t.gpuBuffer as GPUBuffer, k * n * inner * 4, g.gpu, (k * T + t0) * inner * 4, n * inner * 4);
        } else {
          const data = (await t.getData()) as Float32Array;
          if (!g.cpu) throw new Error(`output "${name}" moved between the GPU and the CPU between chunks`);
          for (let k = 0; k < outer; k++) g.cpu.set(data.subarray(k * n * inner, (k + 1) * n * inner), (k * T + t0) * inner);
        }
      }
      if (encoder) device!.queue.submit([encoder.finish()]);
      // The copies are queued before any later use of ORT's buffers, so the chunk's outputs can go back to ORT now.
      for (const t of Object.values(out)) t.dispose();
      out = undefined;
      o.onProgress?.({ done: t0 + n, total: T, chunk: c + 1, chunks });
    }
    for (const t of past) t.dispose();
    chunkedHoldings.count -= past.length;
    past = [];
    const outputs: Record<string, Ort.Tensor> = {};
    if (logits) outputs[logitsName] = new ort.Tensor('float32', logits, [1, T, V]);
    for (const [name, g] of gathers) {
      if (g.whole) outputs[name] = g.whole;
      else if (g.gpu) {
        const buf = g.gpu;
        const bytes = product(g.dims) * 4;
        outputs[name] = ort.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: g.dims, dispose: () => buf.destroy(), download: () => readBack(device!, buf, bytes) });
      } else outputs[name] = new ort.Tensor('float32', g.cpu!, g.dims);
    }
    chunkedHoldings.count -= gathers.size;
    gathers.clear();
    return { outputs, surprisal: keepLogits ? undefined : surprisal };
  } catch (e) {
    freeAll();
    throw e;
  }
}
