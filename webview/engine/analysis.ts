/**
 * One analysis: a model run's outputs and the attention questions answered from them. This class reads Q/K (in ORT's
 * GPU buffers on WebGPU, on the CPU otherwise) and recomputes every map on demand, never holding a T×T map;
 * ProbsAnalysis (probsAnalysis.ts) answers the same questions from a graph's own softmax outputs.
 */
import type * as Ort from 'onnxruntime-web';
import { Strided, Tensor, lambdaRows, subHeads } from '../../src/core/attention';
import type { Manifest } from '../../src/core/manifest';
import { attentionColumnsCpu } from './kernels/attentionColumns.cpu';
import { attentionColumnsGpu } from './kernels/attentionColumns.wgsl';
import { attentionMapCpu } from './kernels/attentionMap.cpu';
import { attentionMapGpu } from './kernels/attentionMap.wgsl';
import { attentionRowsCpu } from './kernels/attentionRows.cpu';
import { attentionRowsGpu } from './kernels/attentionRows.wgsl';
import type { HeadStats } from './kernels/headStats.cpu';
import { headStatsGpu } from './kernels/headStats.wgsl';
import { rolloutStepCpu, valueWeightedCpu } from './kernels/rollout.cpu';
import { rolloutStepGpu, valueWeightedGpu } from './kernels/rollout.wgsl';
import { rowLseGpu } from './kernels/rowLse.wgsl';
import { whatIfCpu } from './kernels/whatIf.cpu';
import { whatIfGpu } from './kernels/whatIf.wgsl';
import { layerStatsCpuInBlocks } from './layerStats';
import { LOGITS_KEEP_BYTES } from './chunkedRun';
import { surprisalFromLogits } from '../../src/core/surprisal';

export interface HeadRow {
  /** The weights the model used: A for softmax, A1 − λ·A2 for DIFF. [T] */
  a: Float32Array;
  /** DIFF V2: this head's λ at the query token. */
  lambda?: number;
  a1?: Float32Array;
  a2?: Float32Array;
}

export interface LayerRows {
  /** DIFF V1: the layer's λ; DIFF V2: the mean of its heads' λ at the query. */
  lambda?: number;
  heads: HeadRow[];
}

export interface Rows {
  query: number;
  tokens: number;
  layers: LayerRows[];
}

export const perLayer = (name: string, layer: number) => name.replace('{layer}', String(layer));

/** Attention entries one block of CPU map work covers (about 10–20 ms in JavaScript). */
export const MAP_BLOCK_ENTRIES = 250_000;
/**
 * Lets waiting events (the host's requests) run. A MessageChannel task, not setTimeout: browsers clamp nested
 * timeouts to 4 ms, which over dozens of blocks would cost more than the work.
 */
export const yieldToEvents = (): Promise<void> =>
  new Promise<void>((resolve) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => {
      c.port1.close();
      resolve();
    };
    c.port2.postMessage(0);
  });

/**
 * A P×P pooled map computed on the CPU in blocks of about MAP_BLOCK_ENTRIES map entries (query rows, each with its
 * causal keys), yielding between them, so requests that arrive meanwhile (a hover's rows) are not held up for the
 * whole T² pass, and in code-server the workbench (same thread) keeps responding. Blocks were whole cell rows once:
 * T / P query rows, 0.3–0.5 s each for a thumbnail at 8,192 tokens (profiled).
 * `pool(cellRows, out, queryRows)` fills the cell rows that query rows [i0, i1) fall in.
 */
export async function mapInBlocks(T: number, P: number, pool: (cellRows: [number, number], out: Float32Array, queryRows: [number, number]) => void): Promise<Float32Array> {
  const data = new Float32Array(P * P);
  const cellOf = (i: number) => Math.min(P - 1, Math.floor(((i + 1) * P - 1) / T));
  for (let i0 = 0; i0 < T; ) {
    let i1 = i0 + 1;
    let entries = i0 + 1;
    while (i1 < T && entries + i1 + 1 <= MAP_BLOCK_ENTRIES) entries += ++i1;
    pool([cellOf(i0), cellOf(i1 - 1) + 1], data, [i0, i1]);
    i0 = i1;
    if (i0 < T) await yieldToEvents();
  }
  return data;
}

/** ORT output tensors held by analyses and not yet disposed (their GPU buffers included). Tests read it. */
export const liveOutputs = { count: 0 };

export class Analysis {
  disposed = false;
  private readonly cpuCache = new Map<string, Tensor>();

  constructor(
    protected readonly m: Manifest,
    protected readonly outputs: Ort.InferenceSession.OnnxValueMapType,
    readonly tokens: number,
    private readonly device: GPUDevice | undefined,
    /** Surprisal per token when the run computed it (a chunked run, which may not keep the logits). */
    private readonly surprisalKnown?: Float32Array,
  ) {
    liveOutputs.count += Object.keys(outputs).length;
  }

  protected out(name: string): Ort.Tensor {
    if (this.released) throw new Error('this analysis was replaced by a newer one');
    const t = this.outputs[name];
    if (!t) throw new Error(`the model does not match its manifest: no output "${name}"`);
    return t;
  }

  protected async cpu(name: string, layout: Manifest['outputs']['q']['layout']): Promise<Tensor> {
    let t = this.cpuCache.get(name);
    if (!t) {
      const o = this.out(name);
      t = new Tensor((await o.getData()) as Float32Array, o.dims, layout);
      this.cpuCache.set(name, t);
    }
    return t;
  }

  /** DIFF V1: the layer's λ. DIFF V2: the mean over heads and tokens (λ varies per token and head). */
  async lambda(layer: number): Promise<number | undefined> {
    return this.use(async () => {
      if (!this.m.outputs.lambda) return undefined;
      const v = await this.lambdaValues(layer);
      if (this.m.attention !== 'diff-v2') return v[0];
      let s = 0;
      for (const x of v) s += x;
      return s / v.length;
    });
  }

  /** λ as the kernels take it: one number (softmax: 0; DIFF V1), or DIFF V2's values per head and row [heads·T]. */
  async lambdaAll(layer: number): Promise<number | Float32Array> {
    if (this.m.attention !== 'diff-v2') return (await this.lambda(layer)) ?? 0;
    return this.lambdaValues(layer);
  }

  /** One head's λ per query row [T] (DIFF V2), or the layer's one number. */
  async lambdaHead(layer: number, head: number): Promise<number | Float32Array> {
    const all = await this.lambdaAll(layer);
    return typeof all === 'number' ? all : all.subarray(head * this.tokens, (head + 1) * this.tokens);
  }

  private readonly lambdaCache = new Map<number, Float32Array>();

  /** DIFF V1: the values of the λ output as they are. DIFF V2: λ rearranged head-major [heads·T]. */
  private async lambdaValues(layer: number): Promise<Float32Array> {
    let v = this.lambdaCache.get(layer);
    if (!v) {
      const spec = this.m.outputs.lambda!;
      const o = this.out(perLayer(spec.name, layer));
      const data = (await o.getData()) as Float32Array;
      if (this.m.attention === 'diff-v2') {
        const t = new Tensor(data, o.dims, spec.layout);
        const H = this.m.heads;
        const T = this.tokens;
        if (t.dim('head') !== H || t.dim('token') !== T) throw new Error(`λ of layer ${layer} has dims ${o.dims.join('×')}; the manifest needs ${H} heads × ${T} tokens`);
        v = new Float32Array(H * T);
        for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) v[h * T + i] = data[t.offset({ head: h, token: i })];
      } else v = data;
      this.lambdaCache.set(layer, v);
    }
    return v;
  }

  /** Checks Q/K against the manifest's heads and width, so a wrong manifest fails loudly instead of pairing wrongly. */
  checkShapes(): void {
    const m = this.m;
    for (let l = 0; l < m.layers; l++) {
      for (const [spec, what] of [[m.outputs.q, 'q'], [m.outputs.k, 'k']] as const) {
        const name = perLayer(spec.name, l);
        const s = new Strided(this.out(name).dims, spec.layout);
        if (s.dim('qkHead') !== m.qkHeads || s.dim('dim') !== m.headDim || s.dim('token') !== this.tokens) {
          throw new Error(`the model does not match its manifest: output "${name}" (${what}) has dims ${s.dims.join('×')}, the manifest says ${m.qkHeads} heads of width ${m.headDim} over ${this.tokens} tokens`);
        }
      }
    }
  }

  /** Logits [1, T, vocab] (downloaded to the CPU). */
  async logits(): Promise<Float32Array> {
    return this.use(async () => {
      if (!this.outputs[this.m.outputs.logits.name] && this.surprisalKnown) {
        throw new Error(`the logits of ${this.tokens} tokens were not kept (a chunked run keeps them up to ${LOGITS_KEEP_BYTES / 2 ** 20} MiB); their surprisal was`);
      }
      return (await this.out(this.m.outputs.logits.name).getData()) as Float32Array;
    });
  }

  /** −log p(token i | tokens before i) in nats for the analysed ids (NaN for the first). */
  async surprisal(ids: ArrayLike<number>): Promise<Float32Array> {
    if (this.surprisalKnown) return this.use(async () => this.surprisalKnown!);
    const logits = await this.logits();
    return surprisalFromLogits(logits, ids, logits.length / this.tokens);
  }

  /** The row of every layer and head for one query token. */
  async rows(query: number): Promise<Rows> {
    return this.use(async () => {
      const m = this.m;
      const T = this.tokens;
      if (!Number.isInteger(query) || query < 0 || query >= T) throw new Error(`query ${query} is outside 0..${T - 1}`);
      const layers: LayerRows[] = [];
      for (let l = 0; l < m.layers; l++) {
        const sub = await this.subRows(l, query); // [qkHeads, T]
        const row = (s: number) => sub.slice(s * T, (s + 1) * T);
        const perToken = m.attention === 'diff-v2';
        const heads: HeadRow[] = [];
        let lambdaSum = 0;
        for (let h = 0; h < m.heads; h++) {
          const [s1, s2] = this.pair(h);
          if (s2 < 0) {
            heads.push({ a: row(s1) });
          } else {
            const lh = await this.lambdaHead(l, h);
            const lambda = typeof lh === 'number' ? lh : lh[query];
            lambdaSum += lambda;
            const a1 = row(s1);
            const a2 = row(s2);
            const a = new Float32Array(T);
            for (let j = 0; j < T; j++) a[j] = a1[j] - lambda * a2[j];
            heads.push(perToken ? { a, a1, a2, lambda } : { a, a1, a2 });
          }
        }
        const lambda = m.attention === 'softmax' ? undefined : perToken ? lambdaSum / m.heads : await this.lambda(l);
        layers.push({ lambda, heads });
      }
      return { query, tokens: T, layers };
    });
  }

  /** Every Q/K sub-head's softmax row for one query [qkHeads, T]. */
  protected async subRows(layer: number, query: number): Promise<Float32Array> {
    const x = await this.qk(layer);
    const shape = { q: x.q, k: x.k, query, scale: this.m.scale };
    return x.gpu ? attentionRowsGpu(this.device!, shape, x.gpu) : attentionRowsCpu(shape as Parameters<typeof attentionRowsCpu>[0]);
  }

  /** Every Q/K sub-head's softmax column for one key [qkHeads, T]. */
  protected async subColumns(layer: number, key: number): Promise<Float32Array> {
    const x = await this.qk(layer);
    const p = { ...x, scale: this.m.scale, lse: await this.lse(layer), key };
    return x.gpu ? attentionColumnsGpu(this.device!, p, x.gpu) : attentionColumnsCpu(p as Parameters<typeof attentionColumnsCpu>[0]);
  }

  private readonly lseCache = new Map<number, Float32Array>();
  /** Each layer's statistics off the GPU, computed once (they also give the layer's log-sum-exps). */
  private readonly cpuStats = new Map<number, Promise<HeadStats[]>>();

  /** Whether a layer's Q/K are read in place on the GPU (WebGPU) rather than on the CPU. */
  onWebGpu(layer: number): boolean {
    return !!this.device && this.out(perLayer(this.m.outputs.q.name, layer)).location === 'gpu-buffer';
  }

  /** Q/K of a layer as shapes plus, on WebGPU, ORT's buffers; on wasm, as CPU tensors. */
  private async qk(layer: number): Promise<{ q: Tensor; k: Tensor; gpu?: undefined } | { q: Strided; k: Strided; gpu: { q: GPUBuffer; k: GPUBuffer } }> {
    const m = this.m;
    const qn = perLayer(m.outputs.q.name, layer);
    const kn = perLayer(m.outputs.k.name, layer);
    if (this.onWebGpu(layer)) {
      const qo = this.out(qn);
      const ko = this.out(kn);
      return { q: new Strided(qo.dims, m.outputs.q.layout), k: new Strided(ko.dims, m.outputs.k.layout), gpu: { q: qo.gpuBuffer as GPUBuffer, k: ko.gpuBuffer as GPUBuffer } };
    }
    return { q: await this.cpu(qn, m.outputs.q.layout), k: await this.cpu(kn, m.outputs.k.layout) };
  }

  /** Q/K of a layer as CPU tensors (downloaded from the GPU when needed). */
  async qkTensors(layer: number): Promise<{ q: Tensor; k: Tensor }> {
    return this.use(async () => {
      const m = this.m;
      return { q: await this.cpu(perLayer(m.outputs.q.name, layer), m.outputs.q.layout), k: await this.cpu(perLayer(m.outputs.k.name, layer), m.outputs.k.layout) };
    });
  }

  /** Row log-sum-exps of a layer's sub-heads [qkHeads, T], computed once per analysis. */
  async lse(layer: number): Promise<Float32Array> {
    return this.use(async () => {
      let v = this.lseCache.get(layer);
      if (!v) {
        const x = await this.qk(layer);
        if (x.gpu) {
          v = await rowLseGpu(this.device!, { ...x, scale: this.m.scale }, x.gpu);
          this.lseCache.set(layer, v);
        } else {
          // Off the GPU the layer's statistics pass gives the log-sum-exps too, in blocks with a task between them (on
          // ORT's kernels where the panel has the stats graph). rowLseCpu, the kernel's twin, is one synchronous
          // T² · d pass: 76 s at 8,192 tokens, during which code-server's whole workbench froze (measured).
          await this.stats(layer);
          v = this.lseCache.get(layer)!;
        }
      }
      return v;
    });
  }

  protected pair(head: number): [number, number] {
    return this.m.attention === 'softmax' ? [head, -1] : subHeads(this.m.pairing, head, this.m.heads);
  }

  /** For one key token: the weight every query gives it, per head (A, or A1 − λA2) [heads][T]. */
  async columns(layer: number, key: number): Promise<Float32Array[]> {
    return this.use(async () => {
      const sub = await this.subColumns(layer, key);
      const T = this.tokens;
      const lam = lambdaRows(await this.lambdaAll(layer), this.m.heads * T);
      return Array.from({ length: this.m.heads }, (_, h) => {
        const [s1, s2] = this.pair(h);
        const c = sub.slice(s1 * T, (s1 + 1) * T);
        if (s2 >= 0) for (let i = 0; i < T; i++) c[i] -= lam[h * T + i] * sub[s2 * T + i];
        return c;
      });
    });
  }

  /** A head's map pooled to at most maxCells² cells by signed max-|a| [P, P]. */
  async map(layer: number, head: number, maxCells = 512): Promise<{ cells: number; data: Float32Array }> {
    return this.use(async () => {
      const x = await this.qk(layer);
      const [s1, s2] = this.pair(head);
      const p = { ...x, scale: this.m.scale, lse: await this.lse(layer), s1, s2, lambda: await this.lambdaHead(layer, head), maxCells };
      const P = Math.min(this.tokens, maxCells);
      if (x.gpu) return { cells: P, data: await attentionMapGpu(this.device!, p, x.gpu) };
      return { cells: P, data: await mapInBlocks(this.tokens, P, (rows, out, queries) => attentionMapCpu(p as Parameters<typeof attentionMapCpu>[0], rows, out, queries)) };
    });
  }

  /**
   * Where the engine can, a layer's statistics on wasm come from ONNX Runtime (statsGraph.ts) instead of JavaScript;
   * the engine sets it. Same figures (a test compares them with the CPU twin).
   */
  statsOnOrt: ((q: Tensor, k: Tensor, pairs: [number, number][], lambda: number | Float32Array, pause: () => Promise<void>) => Promise<{ stats: HeadStats[]; lse: Float32Array }>) | undefined;

  /** Statistics of every head of a layer. */
  async stats(layer: number): Promise<HeadStats[]> {
    return this.use(async () => {
      const x = await this.qk(layer);
      const lambda = await this.lambdaAll(layer);
      if (!x.gpu) {
        // One fused pass on the CPU, once per layer (lse asks for it too); it also yields the row log-sum-exps.
        let p = this.cpuStats.get(layer);
        if (!p) {
          const pairs = Array.from({ length: this.m.heads }, (_, h) => this.pair(h));
          p = (this.statsOnOrt
            ? this.statsOnOrt(x.q, x.k, pairs, lambda, yieldToEvents)
            : layerStatsCpuInBlocks(x.q, x.k, this.m.scale, pairs, lambda, MAP_BLOCK_ENTRIES / 4, yieldToEvents)
          ).then(({ stats, lse }) => {
            if (!this.lseCache.has(layer)) this.lseCache.set(layer, lse);
            return stats;
          });
          const mine = p;
          this.cpuStats.set(layer, mine);
          mine.catch(() => {
            if (this.cpuStats.get(layer) === mine) this.cpuStats.delete(layer);
          });
        }
        return p;
      }
      const lse = await this.lse(layer);
      const out: HeadStats[] = [];
      for (let h = 0; h < this.m.heads; h++) {
        const [s1, s2] = this.pair(h);
        out.push(await headStatsGpu(this.device!, { ...x, scale: this.m.scale, lse, s1, s2, lambda: await this.lambdaHead(layer, h) }, x.gpu));
      }
      return out;
    });
  }

  /** The what-if views of one head's row (WHAT_IF_VIEWS order) [views, T]. */
  async whatIf(layer: number, head: number, query: number): Promise<Float32Array> {
    return this.use(async () => {
      const x = await this.qk(layer);
      const [s1, s2] = this.pair(head);
      const lh = await this.lambdaHead(layer, head);
      const p = { ...x, scale: this.m.scale, lse: await this.lse(layer), s1, s2, lambda: typeof lh === 'number' ? lh : lh[query], query };
      return x.gpu ? whatIfGpu(this.device!, p, x.gpu) : whatIfCpu(p as Parameters<typeof whatIfCpu>[0]);
    });
  }

  /** Attention rollout for one query row over all layers, on |A| or the positive part (a view, not the model's flow). */
  async rollout(query: number, mode: 'abs' | 'positive'): Promise<Float32Array> {
    return this.use(async () => {
      if (!Number.isInteger(query) || query < 0 || query >= this.tokens) throw new Error(`query ${query} is outside 0..${this.tokens - 1}`);
      let r: Float32Array = new Float32Array(this.tokens);
      r[query] = 1;
      for (let l = this.m.layers - 1; l >= 0; l--) {
        const x = await this.qk(l);
        const pairs = Array.from({ length: this.m.heads }, (_, h) => this.pair(h));
        const p = { ...x, scale: this.m.scale, lse: await this.lse(l), pairs, lambda: await this.lambdaAll(l), mode, query, r };
        r = x.gpu ? await rolloutStepGpu(this.device!, p, x.gpu) : rolloutStepCpu(p as Parameters<typeof rolloutStepCpu>[0]);
      }
      return r;
    });
  }

  /** Value-weighted row of one head: |a_ij|·‖(g⊙v_j)W_O,h‖ (· 1/rms_i for DIFF). */
  async valueWeighted(layer: number, head: number, query: number): Promise<Float32Array> {
    return this.use(async () => {
      const row = (await this.rows(query)).layers[layer].heads[head].a;
      const T = this.tokens;
      if (!this.m.outputs.valueNorm) throw new Error(`the value-weighted view needs value norms, which ${this.m.name} does not output (export it with training/export_model.py to get them)`);
      const vn = await this.cpu(perLayer(this.m.outputs.valueNorm.name, layer), this.m.outputs.valueNorm.layout);
      const norms = vn.data.slice(vn.offset({ head }), vn.offset({ head }) + T);
      let scale = 1;
      if (this.m.outputs.rowScale) {
        const rs = await this.cpu(perLayer(this.m.outputs.rowScale.name, layer), this.m.outputs.rowScale.layout);
        scale = rs.data[rs.offset({ head, token: query })];
      }
      return this.device ? valueWeightedGpu(this.device, row, norms, scale) : valueWeightedCpu(row, norms, scale);
    });
  }

  private busy = 0;
  protected released = false;

  /**
   * Runs a read of this analysis. A read that has started finishes on live buffers even if a newer analysis
   * disposes this one meanwhile: freeing ORT's GPU buffers under a kernel in flight can leave its readback
   * waiting forever.
   */
  protected async use<T>(read: () => Promise<T>): Promise<T> {
    // Reads nested in one already running (rows → lambda, map → lse) still see live buffers.
    if (this.disposed && this.busy === 0) throw new Error('this analysis was replaced by a newer one');
    this.busy++;
    try {
      return await read();
    } finally {
      if (--this.busy === 0 && this.disposed) this.release();
    }
  }

  /** Frees the outputs (GPU buffers included) once no read is in flight. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.busy === 0) this.release();
  }

  protected release(): void {
    if (this.released) return;
    this.released = true;
    this.cpuCache.clear();
    this.lseCache.clear();
    this.lambdaCache.clear();
    for (const t of Object.values(this.outputs)) t.dispose();
    liveOutputs.count -= Object.keys(this.outputs).length;
  }
}
