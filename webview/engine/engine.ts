/**
 * The attention engine: runs a model package with onnxruntime-web and answers attention questions from its Q/K
 * outputs, never holding a T×T map. On WebGPU, Q and K stay in ORT's GPU buffers and our WGSL kernels read them in
 * place; on wasm (and in Node, for tests and benchmarks) the CPU twins compute the same answers.
 * The ORT module is passed in, so the webview uses ORT's WebGPU build and Node its wasm build.
 */
import type * as Ort from 'onnxruntime-web';
import { Strided, Tensor, subHeads } from '../../src/core/attention';
import type { Manifest } from '../../src/core/manifest';
import type { Backend } from '../../src/core/protocol';
import { attentionRowsCpu } from './kernels/attentionRows.cpu';
import { attentionRowsGpu } from './kernels/attentionRows.wgsl';

export type OrtModule = Pick<typeof Ort, 'InferenceSession' | 'Tensor' | 'env'>;

export interface HeadRow {
  /** The weights the model used: A for softmax, A1 − λ·A2 for DIFF. [T] */
  a: Float32Array;
  a1?: Float32Array;
  a2?: Float32Array;
}

export interface LayerRows {
  lambda?: number;
  heads: HeadRow[];
}

export interface Rows {
  query: number;
  tokens: number;
  layers: LayerRows[];
}

const perLayer = (name: string, layer: number) => name.replace('{layer}', String(layer));

export class AttentionEngine {
  private current: Analysis | undefined;
  private released = false;

  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    readonly manifest: Manifest,
    readonly backend: Backend,
    private readonly device: GPUDevice | undefined,
  ) {}

  static async create(ort: OrtModule, manifest: Manifest, onnx: Uint8Array, backend: Backend): Promise<AttentionEngine> {
    if (manifest.attention === 'diff-v2') throw new Error('DIFF V2 models (λ per token and head) are not supported by this engine yet');
    const qk: Record<string, 'gpu-buffer'> = {};
    for (let l = 0; l < manifest.layers; l++) {
      qk[perLayer(manifest.outputs.q.name, l)] = 'gpu-buffer';
      qk[perLayer(manifest.outputs.k.name, l)] = 'gpu-buffer';
    }
    const session = await ort.InferenceSession.create(onnx, {
      executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
      graphOptimizationLevel: 'all',
      ...(backend === 'webgpu' ? { preferredOutputLocation: qk } : {}),
    });
    const missing = [manifest.outputs.logits.name, ...Object.keys(qk)].filter((n) => !session.outputNames.includes(n));
    if (!session.inputNames.includes(manifest.inputs.ids.name)) missing.unshift(`input ${manifest.inputs.ids.name}`);
    if (missing.length) {
      await session.release();
      throw new Error(`the model does not match its manifest: the graph has no ${missing.map((m) => `"${m}"`).join(', ')}`);
    }
    let device: GPUDevice | undefined;
    if (backend === 'webgpu') device = (await Promise.resolve(ort.env.webgpu?.device).catch(() => undefined)) as GPUDevice | undefined;
    return new AttentionEngine(ort, session, manifest, device ? 'webgpu' : 'wasm', device);
  }

  /** Live analyses (0 or 1): a newer analysis disposes the older one and its buffers. */
  get liveAnalyses(): number {
    return this.current && !this.current.disposed ? 1 : 0;
  }

  /** Runs the model on token ids. Rejects bad input with a message that says what to change. */
  async analyze(ids: readonly number[]): Promise<Analysis> {
    if (this.released) throw new Error('the engine was released; load the model again');
    const m = this.manifest;
    if (ids.length === 0) throw new Error('nothing to analyse: the token list is empty');
    if (ids.length > m.maxContext) throw new Error(`${ids.length} tokens exceed the model's maximum context of ${m.maxContext}; analyse a shorter range`);
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= m.vocabSize) throw new Error(`token id ${id} at position ${i} is outside the vocabulary (0..${m.vocabSize - 1})`);
    });
    this.current?.dispose();
    const T = ids.length;
    const input = new this.ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [1, T]);
    const outputs = await this.session.run({ [m.inputs.ids.name]: input });
    const analysis = new Analysis(m, outputs, T, this.device);
    this.current = analysis;
    return analysis;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.current?.dispose();
    await this.session.release();
  }
}

export class Analysis {
  disposed = false;
  private readonly cpuCache = new Map<string, Tensor>();

  constructor(
    private readonly m: Manifest,
    private readonly outputs: Ort.InferenceSession.OnnxValueMapType,
    readonly tokens: number,
    private readonly device: GPUDevice | undefined,
  ) {}

  private out(name: string): Ort.Tensor {
    if (this.disposed) throw new Error('this analysis was replaced by a newer one');
    const t = this.outputs[name];
    if (!t) throw new Error(`the model does not match its manifest: no output "${name}"`);
    return t;
  }

  private async cpu(name: string, layout: Manifest['outputs']['q']['layout']): Promise<Tensor> {
    let t = this.cpuCache.get(name);
    if (!t) {
      const o = this.out(name);
      t = new Tensor((await o.getData()) as Float32Array, o.dims, layout);
      this.cpuCache.set(name, t);
    }
    return t;
  }

  async lambda(layer: number): Promise<number | undefined> {
    if (!this.m.outputs.lambda) return undefined;
    return ((await this.out(perLayer(this.m.outputs.lambda.name, layer)).getData()) as Float32Array)[0];
  }

  /** Logits [1, T, vocab] (downloaded to the CPU). */
  async logits(): Promise<Float32Array> {
    return (await this.out(this.m.outputs.logits.name).getData()) as Float32Array;
  }

  /** The row of every layer and head for one query token. */
  async rows(query: number): Promise<Rows> {
    const m = this.m;
    const T = this.tokens;
    if (!Number.isInteger(query) || query < 0 || query >= T) throw new Error(`query ${query} is outside 0..${T - 1}`);
    const layers: LayerRows[] = [];
    for (let l = 0; l < m.layers; l++) {
      const qName = perLayer(m.outputs.q.name, l);
      const kName = perLayer(m.outputs.k.name, l);
      let sub: Float32Array; // [qkHeads, T]
      const qo = this.out(qName);
      if (this.device && qo.location === 'gpu-buffer') {
        const ko = this.out(kName);
        const shape = { q: new Strided(qo.dims, m.outputs.q.layout), k: new Strided(ko.dims, m.outputs.k.layout), query, scale: m.scale };
        sub = await attentionRowsGpu(this.device, shape, { qBuffer: qo.gpuBuffer as GPUBuffer, kBuffer: ko.gpuBuffer as GPUBuffer });
      } else {
        sub = attentionRowsCpu({ q: await this.cpu(qName, m.outputs.q.layout), k: await this.cpu(kName, m.outputs.k.layout), query, scale: m.scale });
      }
      const row = (s: number) => sub.slice(s * T, (s + 1) * T);
      const lambda = await this.lambda(l);
      const heads: HeadRow[] = [];
      for (let h = 0; h < m.heads; h++) {
        if (m.attention === 'softmax') {
          heads.push({ a: row(h) });
        } else {
          const [s1, s2] = subHeads(m.pairing, h, m.heads);
          const a1 = row(s1);
          const a2 = row(s2);
          const a = new Float32Array(T);
          for (let j = 0; j < T; j++) a[j] = a1[j] - (lambda ?? 0) * a2[j];
          heads.push({ a, a1, a2 });
        }
      }
      layers.push({ lambda, heads });
    }
    return { query, tokens: T, layers };
  }

  /** Frees the outputs (GPU buffers included). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cpuCache.clear();
    for (const t of Object.values(this.outputs)) t.dispose();
  }
}
