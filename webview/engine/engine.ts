/**
 * The attention engine: runs a model package with onnxruntime-web and answers attention questions from its Q/K
 * outputs, never holding a T×T map. On WebGPU, Q and K stay in ORT's GPU buffers and our WGSL kernels read them in
 * place; on wasm (and in Node, for tests and benchmarks) the CPU twins compute the same answers.
 * The ORT module is passed in, so the webview uses ORT's WebGPU build and Node its wasm build.
 */
import type * as Ort from 'onnxruntime-web';
import type { Manifest } from '../../src/core/manifest';
import type { Backend } from '../../src/core/protocol';
import { Analysis, perLayer, yieldToEvents } from './analysis';
import { ProbsAnalysis } from './probsAnalysis';
import { attentionRowsCpu } from './kernels/attentionRows.cpu';
import { emptyCache, runChunked, type ChunkProgress } from './chunkedRun';
import { layerStatsOrt } from './statsGraph';
import type { StatsKind } from '../../src/core/statsFiles';
import { Tensor } from '../../src/core/attention';

export { Analysis, liveOutputs } from './analysis';
export type { ChunkProgress } from './chunkedRun';
export type { HeadRow, LayerRows, Rows } from './analysis';

export type OrtModule = Pick<typeof Ort, 'InferenceSession' | 'Tensor' | 'env'>;

/** Where attention is read from: Q/K (recomputed on demand), or the graph's own softmax outputs (full maps). */
export type ReadFrom = 'qk' | 'probs';

/** The graph outputs the inspector reads. */
function fetchNames(m: Manifest, from: ReadFrom = 'qk', verify = false): string[] {
  const names = [m.outputs.logits.name];
  const wanted = from === 'probs' ? [m.outputs.probs, m.outputs.lambda] : [m.outputs.q, m.outputs.k, m.outputs.lambda, m.outputs.valueNorm, m.outputs.rowScale, ...(verify ? [m.outputs.probs] : [])];
  for (let l = 0; l < m.layers; l++) for (const t of wanted) if (t) names.push(perLayer(t.name, l));
  return names;
}

/**
 * The longest input whose full maps (layers × Q/K heads × T² floats) fit in PROBS_BUDGET_BYTES: the limit for models
 * whose attention can only be read from their softmax outputs.
 */
export const PROBS_BUDGET_BYTES = 256 * 2 ** 20;
/**
 * A graph without a key/value cache runs in one pass, whose explicit attention holds about four [heads × T × T]
 * float tensors at once (measured: 4.0 GB at T = 8192 with 4 sub-heads, the wasm heap's ceiling). Its input is
 * limited so that this stays within SINGLE_PASS_BYTES.
 */
export const SINGLE_PASS_BYTES = 2 * 2 ** 30;
export function singlePassTokenLimit(m: Pick<Manifest, 'qkHeads' | 'maxContext'>): number {
  return Math.max(1, Math.min(m.maxContext, Math.floor(Math.sqrt(SINGLE_PASS_BYTES / (16 * m.qkHeads)))));
}
/**
 * Bytes of one [qkHeads × chunk × T] float tensor of a chunk's attention; ORT holds a few such tensors at once, and
 * the wasm heap keeps its high-water mark. Measured in Node at T = 8192 (twin-diff, 4 sub-heads), peak RSS of the
 * process: 664 MB with chunks of 512 tokens (64 MiB per tensor), 546 MB with 256, 476 MB with 128; at T = 2048 the
 * forward took 1083 / 1190 / 1277 ms with chunks of 512 / 256 / 128.
 */
export const CHUNK_ATTENTION_BYTES = 16 * 2 ** 20;
/** Tokens per chunk for T tokens: a power of two from 64 to 512 that keeps each attention tensor within CHUNK_ATTENTION_BYTES. */
export function chunkTokensFor(T: number, qkHeads: number): number {
  return Math.max(64, Math.min(512, 2 ** Math.floor(Math.log2(CHUNK_ATTENTION_BYTES / (4 * qkHeads * Math.max(1, T))))));
}
export function probsTokenLimit(m: Pick<Manifest, 'layers' | 'qkHeads' | 'maxContext'>): number {
  return Math.max(1, Math.min(m.maxContext, Math.floor(Math.sqrt(PROBS_BUDGET_BYTES / (4 * m.layers * m.qkHeads)))));
}

type ExtraInput = NonNullable<Manifest['inputs']['extra']>[number];

/**
 * A graph input besides the ids, for T tokens after `past` cached ones: an attention mask of ones (over the fed
 * tokens, or over past+token where the graph takes a cache), positions past..past+T−1, or an empty past key/value
 * cache.
 */
function extraFeed(ort: OrtModule, x: ExtraInput, T: number, past = 0): Ort.Tensor {
  const dims = x.dims.map((d) => (d === 'batch' ? 1 : d === 'token' ? T : d === 'past+token' ? past + T : d === 'past' ? 0 : d));
  const n = dims.reduce((a, b) => a * b, 1);
  const value = (i: number) => (x.fill === 'ones' ? 1 : x.fill === 'positions' ? past + (i % T) : 0);
  if (x.dtype === 'int64') return new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(value(i))), dims);
  if (x.dtype === 'int32') return new ort.Tensor('int32', Int32Array.from({ length: n }, (_, i) => value(i)), dims);
  return new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => value(i)), dims);
}

/** An analysis that a newer one replaced before it finished. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled: a newer analysis replaced this one');
  }
}

export class AttentionEngine {
  private current: Analysis | undefined;
  private released = false;
  private generation = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private from: ReadFrom;
  private checkError = Number.NaN;
  /** Why the graph's key/value cache is not used (verify found chunks and one pass disagree); undefined: it is. */
  private cacheRefused: string | undefined;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly manifest: Manifest,
    readonly backend: Backend,
    private readonly device: GPUDevice | undefined,
    /** Created for the wasm backend (ORT's plain wasm build), not a WebGPU session that fell back to wasm. */
    private readonly plainWasm: boolean,
  ) {
    this.from = manifest.readFrom ?? 'qk';
  }

  /** Where this engine reads attention from (see verify). */
  get readFrom(): ReadFrom {
    return this.from;
  }

  /** Largest |attention from Q/K − the graph's softmax| found by verify (NaN until it has compared them). */
  get maxCheckError(): number {
    return this.checkError;
  }

  /** Tokens per chunk when the graph takes a key/value cache; undefined: chunkTokensFor (tests set it to compare chunkings). */
  chunkTokens: number | undefined;

  /** The longest logits a chunked run keeps whole (bytes); undefined: LOGITS_KEEP_BYTES. Tests set 0. */
  logitsKeepBytes: number | undefined;

  /** Whether this engine feeds the text in chunks (the graph takes a key/value cache). */
  get chunked(): boolean {
    return !!this.manifest.cache && this.from === 'qk' && !this.cacheRefused;
  }

  private statsSession: Promise<Ort.InferenceSession> | undefined;

  /**
   * Where the stats graphs come from (dist/stats-*.onnx: the webview fetches them, Node reads them). Unset: layer
   * statistics on wasm are computed in JavaScript (layerStats.ts).
   */
  static statsGraphs: ((kind: StatsKind) => Promise<Uint8Array>) | undefined;

  /** Whether layer statistics run in ONNX Runtime (on wasm); tests turn it off to time or compare the JavaScript twin. */
  statsInOrt = true;

  /** Runs `job` when no other work holds the session queue (a forward), so ORT never runs two graphs at once. */
  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Statistics through ONNX Runtime's kernels (statsGraph.ts), for analyses on wasm. */
  private statsOnOrt(a: Analysis): void {
    const source = AttentionEngine.statsGraphs;
    // Only on ORT's plain wasm build: its runs never interleave, whereas the WebGPU build's (asyncify) can yield mid-run.
    if (this.device || !this.plainWasm || !this.statsInOrt || !source) return;
    const kind: StatsKind = this.manifest.attention === 'softmax' ? 'softmax' : 'diff';
    a.statsOnOrt = async (q, k, pairs, lambda, pause) => {
      if (this.released) throw new Error('the engine was released; load the model again');
      if (!this.statsSession) {
        this.statsSession = source(kind).then((bytes) => this.exclusive(() => this.ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' })));
        this.statsSession.catch(() => (this.statsSession = undefined));
      }
      const session = await this.statsSession;
      return layerStatsOrt(this.ort, { run: (feeds) => this.exclusive(() => session.run(feeds)) } as Pick<Ort.InferenceSession, 'run'>, q, k, this.manifest.scale, pairs, lambda, pause);
    };
  }

  /** Why a graph that declares a key/value cache runs in one pass (verify's check of the chunks failed). */
  get cacheNote(): string | undefined {
    return this.cacheRefused;
  }

  /**
   * The longest input: the model's context with a key/value cache; without one, what a single pass can hold
   * (singlePassTokenLimit), or less when full maps must be held (probsTokenLimit).
   */
  get tokenLimit(): number {
    if (this.from === 'probs') return probsTokenLimit(this.manifest);
    return this.chunked ? this.manifest.maxContext : singlePassTokenLimit(this.manifest);
  }

  /**
   * For graphs the extension rewrote (they output their softmax too): runs `ids` once and checks that attention
   * recomputed from Q and K equals the graph's own softmax, for every layer, sub-head and row. If it does not (a
   * bias added to the logits, a run-time scale), this engine reads the softmax outputs from now on. Where the
   * rewriter found a key/value cache, the same ids are also run in three chunks, and the cache is used only if the
   * chunks give the one pass's logits and Q/K: the rewriter guessed how the graph's mask and positions treat the
   * cached tokens, and this checks the guess.
   */
  async verify(ids: readonly number[]): Promise<{ readFrom: ReadFrom; maxError: number; chunked: boolean; cacheNote?: string }> {
    const m = this.manifest;
    if (!m.outputs.probs || this.from === 'probs') return { readFrom: this.from, maxError: Number.NaN, chunked: this.chunked, cacheNote: this.cacheRefused };
    const T = Math.min(ids.length, m.maxContext);
    const run = this.queue.then(async () => {
      const outputs = await this.session.run(this.feeds(ids.slice(0, T)), fetchNames(m, 'qk', true));
      try {
        let maxError = 0;
        for (let l = 0; l < m.layers; l++) {
          const get = async (spec: { name: string; layout: Manifest['outputs']['q']['layout'] }) => {
            const o = outputs[perLayer(spec.name, l)];
            return new Tensor((await o.getData()) as Float32Array, o.dims, spec.layout);
          };
          const [q, k, P] = [await get(m.outputs.q), await get(m.outputs.k), await get(m.outputs.probs!)];
          for (let i = 0; i < T; i++) {
            const rows = attentionRowsCpu({ q, k, query: i, scale: m.scale });
            for (let s = 0; s < m.qkHeads; s++) for (let j = 0; j < T; j++) maxError = Math.max(maxError, Math.abs(rows[s * T + j] - P.data[P.offset({ qkHead: s, token: i, key: j })]));
          }
        }
        this.checkError = maxError;
        if (!(maxError < 1e-3)) this.from = 'probs';
        if (this.chunked) await this.checkChunks(ids.slice(0, T), outputs);
        return { readFrom: this.from, maxError, chunked: this.chunked, cacheNote: this.cacheRefused };
      } finally {
        for (const t of Object.values(outputs)) t.dispose();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Runs `ids` in three chunks and refuses the cache (cacheRefused) unless logits and Q/K equal the one pass's. */
  private async checkChunks(ids: readonly number[], one: Record<string, Ort.Tensor>): Promise<void> {
    const m = this.manifest;
    const names = [m.outputs.logits.name];
    for (let l = 0; l < m.layers; l++) names.push(perLayer(m.outputs.q.name, l), perLayer(m.outputs.k.name, l));
    let worst = { name: '', error: 0, scale: 1 };
    try {
      const r = await runChunked(this.ort, this.session, m, ids, names, this.device, {
        chunkTokens: Math.max(1, Math.ceil(ids.length / 3)),
        cancelled: () => false,
        cancelError: () => new CancelledError(),
        extraFeeds: (n, past) => this.extraFeeds(n, past),
      });
      try {
        for (const name of names) {
          const [a, b] = [(await one[name].getData()) as Float32Array, (await r.outputs[name].getData()) as Float32Array];
          let error = a.length === b.length ? 0 : Infinity;
          let scale = 1;
          for (let i = 0; i < a.length && error < Infinity; i++) {
            error = Math.max(error, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
          }
          if (error / scale > worst.error / worst.scale) worst = { name, error, scale };
        }
      } finally {
        for (const t of Object.values(r.outputs)) t.dispose();
      }
      if (worst.error / worst.scale > 1e-4) this.cacheRefused = `the graph's key/value cache was not used: run in chunks, its output "${worst.name}" differed from one pass by ${worst.error.toExponential(1)}, so the mask or the positions treat cached tokens in a way the inspector does not know; inputs are limited to what one pass holds`;
    } catch (e) {
      this.cacheRefused = `the graph's key/value cache was not used: feeding it failed (${e instanceof Error ? e.message : String(e)}); inputs are limited to what one pass holds`;
    }
  }

  /** The extra inputs for `n` tokens after `past` cached ones. */
  private extraFeeds(n: number, past: number): Record<string, Ort.Tensor> {
    return Object.fromEntries((this.manifest.inputs.extra ?? []).map((x) => [x.name, extraFeed(this.ort, x, n, past)]));
  }

  /** One pass over `ids`: the extra inputs and, for a graph with a cache, an empty past. */
  private feeds(ids: readonly number[]): Record<string, Ort.Tensor> {
    const m = this.manifest;
    const T = ids.length;
    const feeds: Record<string, Ort.Tensor> = { [m.inputs.ids.name]: new this.ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, T]), ...this.extraFeeds(T, 0) };
    if (m.cache) {
      const past = emptyCache(this.ort, m);
      for (let l = 0; l < m.layers; l++) {
        feeds[perLayer(m.cache.key.past, l)] = past[2 * l];
        feeds[perLayer(m.cache.value.past, l)] = past[2 * l + 1];
      }
    }
    return feeds;
  }

  static async create(ort: OrtModule, manifest: Manifest, onnx: Uint8Array, backend: Backend): Promise<AttentionEngine> {
    const qk: Record<string, 'gpu-buffer'> = {};
    for (let l = 0; l < manifest.layers; l++) {
      qk[perLayer(manifest.outputs.q.name, l)] = 'gpu-buffer';
      qk[perLayer(manifest.outputs.k.name, l)] = 'gpu-buffer';
      // The cache stays on the GPU between chunks: each chunk's present keys/values are the next one's past.
      if (manifest.cache) for (const part of [manifest.cache.key, manifest.cache.value]) qk[perLayer(part.present, l)] = 'gpu-buffer';
    }
    const session = await ort.InferenceSession.create(onnx, {
      executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
      graphOptimizationLevel: 'all',
      ...(backend === 'webgpu' ? { preferredOutputLocation: qk } : {}),
    });
    const missing = fetchNames(manifest).filter((n) => !session.outputNames.includes(n));
    for (const i of [manifest.inputs.ids, ...(manifest.inputs.extra ?? [])]) if (!session.inputNames.includes(i.name)) missing.unshift(`input ${i.name}`);
    for (let l = 0; l < manifest.layers && manifest.cache; l++) {
      for (const part of [manifest.cache.key, manifest.cache.value]) {
        if (!session.inputNames.includes(perLayer(part.past, l))) missing.push(`input ${perLayer(part.past, l)}`);
        if (!session.outputNames.includes(perLayer(part.present, l))) missing.push(perLayer(part.present, l));
      }
    }
    const fed = new Set([manifest.inputs.ids.name, ...(manifest.inputs.extra ?? []).map((x) => x.name)]);
    for (let l = 0; l < manifest.layers && manifest.cache; l++) for (const part of [manifest.cache.key, manifest.cache.value]) fed.add(perLayer(part.past, l));
    const unfed = session.inputNames.filter((n) => !fed.has(n));
    if (unfed.length) {
      await session.release();
      throw new Error(`the model does not match its manifest: the graph takes input${unfed.length === 1 ? '' : 's'} ${unfed.slice(0, 5).map((n) => `"${n}"`).join(', ')}${unfed.length > 5 ? ` and ${unfed.length - 5} more` : ''} that the manifest does not declare (inputs.extra, or cache for past keys/values)`);
    }
    if (missing.length) {
      await session.release();
      throw new Error(`the model does not match its manifest: the graph has no ${missing.map((m) => `"${m}"`).join(', ')}`);
    }
    let device: GPUDevice | undefined;
    if (backend === 'webgpu') device = (await Promise.resolve(ort.env.webgpu?.device).catch(() => undefined)) as GPUDevice | undefined;
    return new AttentionEngine(ort, session, manifest, device ? 'webgpu' : 'wasm', device, backend === 'wasm');
  }

  /** Live analyses (0 or 1): a newer analysis disposes the older one and its buffers. */
  get liveAnalyses(): number {
    return this.current && !this.current.disposed ? 1 : 0;
  }

  /** Runs the model on token ids. Rejects bad input with a message that says what to change. */
  async analyze(ids: readonly number[], onProgress?: (p: ChunkProgress) => void): Promise<Analysis> {
    if (this.released) throw new Error('the engine was released; load the model again');
    const m = this.manifest;
    if (ids.length === 0) throw new Error('nothing to analyze: the token list is empty');
    if (ids.length > m.maxContext) throw new Error(`${ids.length} tokens exceed the model's maximum context of ${m.maxContext}; analyze a shorter range`);
    if (ids.length > this.tokenLimit) {
      if (this.from === 'probs') throw new Error(`${ids.length} tokens are more than ${this.tokenLimit}: ${m.name}'s attention is read from its full softmax maps (its Q and K alone do not reproduce it), which limits the input; analyze a shorter range`);
      const gb = (16 * m.qkHeads * ids.length ** 2) / 2 ** 30;
      throw new Error(`${ids.length} tokens are more than ${this.tokenLimit}: ${m.name}'s graph takes no key/value cache, so it runs in one pass whose attention needs memory that grows with the square of the input (about ${gb.toFixed(1)} GB here); analyze a shorter range, or export the model with a cache (training/export_model.py)`);
    }
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= m.vocabSize) throw new Error(`token id ${id} at position ${i} is outside the vocabulary (0..${m.vocabSize - 1})`);
    });
    // A newer request cancels an older one: the old analysis is freed now, a run still in flight is dropped when
    // it returns, and runs never overlap on the session.
    const gen = ++this.generation;
    this.current?.dispose();
    this.current = undefined;
    const T = ids.length;
    const job = this.queue.then(async () => {
      if (gen !== this.generation || this.released) throw new CancelledError();
      let analysis: Analysis;
      if (this.chunked) {
        const r = await runChunked(this.ort, this.session, m, ids, fetchNames(m), this.device, {
          chunkTokens: this.chunkTokens ?? chunkTokensFor(T, m.qkHeads),
          logitsKeepBytes: this.logitsKeepBytes,
          cancelled: () => gen !== this.generation || this.released,
          cancelError: () => new CancelledError(),
          onProgress,
          pause: yieldToEvents,
          extraFeeds: (n, past) => this.extraFeeds(n, past),
        });
        analysis = new Analysis(m, r.outputs, T, this.device, r.surprisal);
      } else {
        // Only what the inspector reads: a graph's other outputs (a KV cache) are not copied out.
        const outputs = await this.session.run(this.feeds(ids), fetchNames(m, this.from));
        analysis = this.from === 'probs' ? new ProbsAnalysis(m, outputs, T, undefined) : new Analysis(m, outputs, T, this.device);
        onProgress?.({ done: T, total: T, chunk: 1, chunks: 1 });
      }
      try {
        analysis.checkShapes();
      } catch (e) {
        analysis.dispose();
        throw e;
      }
      if (gen !== this.generation || this.released) {
        analysis.dispose();
        throw new CancelledError();
      }
      if (!(analysis instanceof ProbsAnalysis)) this.statsOnOrt(analysis);
      this.current = analysis;
      return analysis;
    });
    this.queue = job.catch(() => undefined);
    return job;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.current?.dispose();
    await this.queue;
    await this.session.release();
    await (await this.statsSession?.catch(() => undefined))?.release();
  }
}
