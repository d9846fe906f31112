/**
 * Answers the host's analysis requests: loads a bundled model package (manifest checked with the shared schema),
 * keeps one engine per model and backend, runs the newest request (older ones are cancelled by the engine), and
 * sends rows back as compact typed arrays.
 */
import { BUNDLED_GRAPH as BUNDLED_ONNX, parseManifest, type Manifest } from '../src/core/manifest';
import type { AnalysisInfo, AnalysisQuery, Backend, ModelLoadResult, RowsPayload, TensorPayload } from '../src/core/protocol';
import { AttentionEngine, type Analysis, type ChunkProgress } from './engine/engine';
import { ortReady } from './engine/ortRuntime';
import { loadFile, takeEarly } from './fileCache';
import { mark } from './startTimeline';

export class AnalysisController {
  private readonly engines = new Map<string, Promise<AttentionEngine>>();
  /** Users' model packages the host sent (bundled ones are fetched from the extension). */
  private readonly packages = new Map<string, { manifest: Manifest; onnx: Uint8Array }>();
  /** The latest analysis of each model (the twins are compared on the same text, so both stay). */
  private readonly current = new Map<string, { analysis: Analysis; info: AnalysisInfo; ids: Int32Array }>();
  /** Sessions created so far (the first one pays for ONNX Runtime's WebAssembly). */
  private sessions = 0;
  /** Where timings of model loads go (the webview's log). */
  onLog?: (message: string) => void;
  /** Bumped whenever an analysis is replaced or cleared, so views can drop work for an older one. */
  generation = 0;

  constructor(
    private readonly modelsBase: string,
    /** Runs model work one job at a time (ORT cannot create two WebGPU sessions at once). */
    private readonly serial: <T>(job: () => Promise<T>) => Promise<T>,
  ) {}

  private engine(model: string, backend: Backend): Promise<AttentionEngine> {
    const key = `${model}@${backend}`;
    let e = this.engines.get(key);
    if (!e) {
      // A bundled model's files and ORT's binary are fetched now, outside the one-at-a-time lane, so the fetches
      // overlap each other and whatever holds the lane (ONNX Runtime starting for the first session); the lane is
      // taken only to create the session.
      // A user's package is taken now: one sent later replaces this engine's entry, not the package it runs.
      const pkg = this.packages.get(model);
      const files = pkg ? undefined : this.fetchBundled(model);
      files?.catch(() => undefined);
      const ready = Promise.all([files, ortReady(backend)]);
      e = ready.then(() => this.serial(async () => {
        if (pkg) {
          const engine = await AttentionEngine.create(await ortReady(backend), pkg.manifest, pkg.onnx, backend);
          // A graph the extension rewrote also outputs its softmax: Q/K are checked against it once.
          const m = pkg.manifest;
          const ids = Array.from({ length: Math.min(32, m.maxContext) }, (_, i) => (i * 7919 + 13) % m.vocabSize);
          await engine.verify(ids);
          return engine;
        }
        const { manifest, bytes, fetchMs } = await (files ?? this.fetchBundled(model));
        const t1 = performance.now();
        mark('model lane');
        const engine = await AttentionEngine.create(await ortReady(backend), manifest, bytes, backend);
        mark('model session');
        this.onLog?.(`model ${model} on ${engine.backend}: files fetched in ${Math.round(fetchMs)} ms (${(bytes.byteLength / 2 ** 20).toFixed(1)} MB), session created in ${Math.round(performance.now() - t1)} ms${this.sessions++ === 0 ? ' (the first session of a page also compiles ONNX Runtime\'s WebAssembly unless the panel preloaded it)' : ''}`);
        return engine;
      }));
      e.catch(() => this.engines.delete(key));
      this.engines.set(key, e);
    }
    return e;
  }

  /** A bundled model's manifest (checked) and graph, fetched from the extension (also for timing the backends). */
  async fetchBundled(model: string): Promise<{ manifest: Manifest; bytes: Uint8Array; fetchMs: number }> {
    const base = `${this.modelsBase}${model}/`;
    const t0 = performance.now();
    mark('model fetch');
    // The bundled packages name their graph model.onnx: it is fetched beside the manifest rather than after it (the
    // manifest's round trip through the workbench took 0.2 s of a fresh window's first tint), and dropped if the
    // manifest names another file. The page's head may have started both already (early.ts); an early load that
    // failed is tried again here, so that the error names the model.
    const load = (file: string, signal?: AbortSignal) => {
      const url = base + file;
      const fresh = () => loadFile(url, (why) => new Error(`model "${model}": ${file} could not be loaded (${why})`), undefined, signal);
      const early = takeEarly(url);
      return { loaded: early?.catch(fresh) ?? fresh(), early: !!early };
    };
    const guess = new AbortController();
    const graphLoad = load(BUNDLED_ONNX, guess.signal);
    graphLoad.loaded.catch(() => undefined);
    let manifest: Manifest;
    let manifestSource: string;
    try {
      const mf = await load('manifest.json').loaded;
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(mf.bytes));
      } catch (e) {
        throw new Error(`model "${model}": manifest.json is not JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      const parsed = parseManifest(json, `${model}/manifest.json`);
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      manifest = parsed.manifest;
      manifestSource = mf.source;
    } catch (e) {
      guess.abort();
      throw e;
    }
    if (manifest.files.onnx !== BUNDLED_ONNX) guess.abort();
    const graphFrom = manifest.files.onnx === BUNDLED_ONNX ? graphLoad : load(manifest.files.onnx);
    const graph = await graphFrom.loaded;
    mark(`model fetched (graph from the ${graph.source}${graphFrom.early ? ', its load started in the page\'s head' : ''}, manifest from the ${manifestSource})`);
    return { manifest, bytes: graph.bytes, fetchMs: performance.now() - t0 };
  }

  /** Keeps a user's model package for its analyses; a package sent again under the same name replaces the old one. */
  async load(model: string, manifestJson: unknown, onnx: Uint8Array, backend: Backend): Promise<ModelLoadResult> {
    const parsed = parseManifest(manifestJson, `${model}/manifest.json`);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    // One user model stays resident (a large one holds its bytes and a session): the others are let go, and the
    // host sends them again when they are chosen.
    for (const old of [...this.packages.keys(), model]) {
      for (const [key, e] of [...this.engines]) {
        if (!key.startsWith(`${old}@`)) continue;
        this.engines.delete(key);
        void e.then((x) => this.serial(() => x.release())).catch(() => undefined); // in the lane: see warmRuntime
      }
      this.current.get(old)?.analysis.dispose();
      this.current.delete(old);
      this.packages.delete(old);
    }
    this.packages.set(model, { manifest: parsed.manifest, onnx });
    const engine = await this.engine(model, backend);
    return { model, readFrom: engine.readFrom, tokenLimit: engine.tokenLimit, maxError: engine.maxCheckError, ...(engine.cacheNote ? { cacheNote: engine.cacheNote.slice(0, 2000) } : {}) };
  }

  /** Loads a bundled model's session now, so that its first run does not wait for it. */
  async warm(model: string, backend: Backend): Promise<void> {
    await this.engine(model, backend);
  }

  async run(model: string, backend: Backend, ids: Int32Array, onProgress?: (p: ChunkProgress) => void): Promise<AnalysisInfo> {
    const engine = await this.engine(model, backend);
    mark('forward start');
    this.current.delete(model);
    this.generation++;
    const t0 = performance.now();
    const analysis = await engine.analyze(Array.from(ids), onProgress); // a newer run cancels this one inside the engine
    const runMs = performance.now() - t0;
    const m = engine.manifest;
    const lambdas: number[] = [];
    if (m.attention !== 'softmax') for (let l = 0; l < m.layers; l++) lambdas.push((await analysis.lambda(l)) ?? 0);
    const info: AnalysisInfo = { model, backend: engine.backend, tokens: analysis.tokens, layers: m.layers, heads: m.heads, lambdas, runMs, attention: m.attention, valueWeighted: !!m.outputs.valueNorm, readFrom: engine.readFrom, tokenLimit: engine.tokenLimit };
    this.current.set(model, { analysis, info, ids });
    this.generation++;
    return info;
  }

  /** Forgets every analysis (the host cleared the inspector); engines stay loaded. */
  clear(): void {
    for (const c of this.current.values()) c.analysis.dispose();
    this.current.clear();
    this.generation++;
  }

  info(model: string): AnalysisInfo | undefined {
    return this.current.get(model)?.info;
  }

  analysis(model: string): Analysis | undefined {
    return this.current.get(model)?.analysis;
  }

  private need(model: string) {
    const c = this.current.get(model);
    if (!c) throw new Error(`no analysis of ${model} to read from: analyze a document first`);
    return c;
  }

  async query(model: string, q: AnalysisQuery): Promise<TensorPayload> {
    const { analysis: a, info, ids } = this.need(model);
    const T = info.tokens;
    if ('layer' in q && q.layer >= info.layers) throw new Error(`layer ${q.layer} is outside 0..${info.layers - 1}`);
    if ('head' in q && q.head >= info.heads) throw new Error(`head ${q.head} is outside 0..${info.heads - 1}`);
    switch (q.kind) {
      case 'columns': {
        const cols = await a.columns(q.layer, q.key);
        const data = new Float32Array(info.heads * T);
        cols.forEach((c, h) => data.set(c, h * T));
        return { kind: q.kind, dims: [info.heads, T], data };
      }
      case 'map': {
        const m = await a.map(q.layer, q.head, q.maxCells);
        return { kind: q.kind, dims: [m.cells, m.cells], data: m.data };
      }
      case 'meanMap': {
        // Pooled per head, then averaged: exact when every cell is one token (T ≤ maxCells).
        let out: Float32Array | undefined;
        let cells = 0;
        for (let h = 0; h < info.heads; h++) {
          const m = await a.map(q.layer, h, q.maxCells);
          cells = m.cells;
          out ??= new Float32Array(m.data.length);
          for (let i = 0; i < out.length; i++) out[i] += m.data[i] / info.heads;
        }
        return { kind: q.kind, dims: [cells, cells], data: out! };
      }
      case 'stats': {
        const st = await a.stats(q.layer);
        const data = Float32Array.from(st.flatMap((s) => [s.entropyA1, s.entropyA2, s.negativeMass, s.smallShare, s.firstTokenMass, s.maxRowSumError]));
        return { kind: q.kind, dims: [info.heads, 6], data };
      }
      case 'whatIf': {
        const data = await a.whatIf(q.layer, q.head, q.query);
        return { kind: q.kind, dims: [data.length / T, T], data };
      }
      case 'rollout':
        return { kind: q.kind, dims: [T], data: await a.rollout(q.query, q.mode) };
      case 'valueWeighted':
        return { kind: q.kind, dims: [T], data: await a.valueWeighted(q.layer, q.head, q.query) };
      case 'surprisal': {
        return { kind: q.kind, dims: [T], data: await a.surprisal(ids) };
      }
    }
  }

  async rows(model: string, query: number): Promise<RowsPayload> {
    const c = this.need(model);
    const r = await c.analysis.rows(query);
    const { layers, heads, tokens } = c.info;
    const a = new Float32Array(layers * heads * tokens);
    const hasPairs = r.layers[0].heads[0].a1 !== undefined;
    const a1 = hasPairs ? new Float32Array(a.length) : undefined;
    const a2 = hasPairs ? new Float32Array(a.length) : undefined;
    const lambda = r.layers[0].heads[0].lambda !== undefined ? new Float32Array(layers * heads) : undefined;
    r.layers.forEach((layer, l) =>
      layer.heads.forEach((h, hi) => {
        const o = (l * heads + hi) * tokens;
        a.set(h.a, o);
        if (a1 && h.a1) a1.set(h.a1, o);
        if (a2 && h.a2) a2.set(h.a2, o);
        if (lambda) lambda[l * heads + hi] = h.lambda ?? NaN;
      }),
    );
    return { query, layers, heads, tokens, a, ...(a1 ? { a1, a2 } : {}), ...(lambda ? { lambda } : {}) };
  }
}
