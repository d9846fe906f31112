/**
 * The one message protocol between the extension host and the side-panel webview.
 *
 * Every message is `{ method, ...payload }`; requests also carry `id` and are answered by a message of the
 * `<method>/done` family with the same id. Both sides validate what arrives with `parseToHost` /
 * `parseToWebview` and drop (and log) anything that does not match: a malformed message must never throw
 * into the UI.
 */

export type Backend = 'webgpu' | 'wasm';
export type BackendPreference = 'auto' | Backend;

export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Whether the adapter reports the `shader-f16` feature (SwiftShader does not). */
  shaderF16: boolean;
  /** A fallback or software adapter (SwiftShader, llvmpipe, WARP): WebGPU emulated on the CPU. */
  software: boolean;
}

export interface Capabilities {
  /** `null` when no adapter was found; `webgpuUnavailableReason` then says why. */
  adapter: GpuAdapterInfo | null;
  webgpuUnavailableReason: string | null;
  /** The ORT backend the webview will use for the next session. */
  backend: Backend;
  /** Why that backend, in words for the status bar, the panel and the log. */
  backendReason: string;
  crossOriginIsolated: boolean;
  userAgent: string;
  /** True when `auto` chose WebGPU on a hardware adapter that was never timed against wasm: the panel times it once. */
  untimed?: boolean;
}

/**
 * The two backends timed on one adapter: the same bundled model's forward over the same tokens, warm (the second
 * run), on each. Remembered per machine by the host (globalState), keyed by adapterKey.
 */
export interface BackendTiming {
  adapter: string;
  model: string;
  tokens: number;
  wasmMs: number;
  webgpuMs: number;
  /** ISO date of the measurement. */
  at: string;
}

export interface ProbeResult {
  backend: Backend;
  /** Sequence length of the probe input. */
  tokens: number;
  /** First row of the probe's attention output, for display. */
  firstRow: number[];
  /** max |ORT − JS reference| over the whole output. */
  maxAbsError: number;
  sessionMs: number;
  runMs: number;
}

export interface AnalysisInfo {
  model: string;
  backend: Backend;
  tokens: number;
  layers: number;
  heads: number;
  /** λ per layer for DIFF V1 models (for DIFF V2, the mean over heads and tokens), empty for softmax models. */
  lambdas: number[];
  attention: 'softmax' | 'diff-v1' | 'diff-v2';
  /** Whether the model outputs value norms (the value-weighted view needs them). */
  valueWeighted: boolean;
  /** Where attention was read from: Q/K, or the graph's full softmax maps (then inputs are limited to tokenLimit). */
  readFrom: 'qk' | 'probs';
  tokenLimit: number;
  /** Time the webview spent on the forward pass, in ms. */
  runMs: number;
}

/**
 * Every layer's and head's row for one query, as compact typed arrays [layers · heads · tokens], row-major:
 * `a` is what the model used (A, or A1 − λA2); `a1`/`a2` are DIFF's two maps (absent for softmax models).
 */
export interface RowsPayload {
  query: number;
  layers: number;
  heads: number;
  tokens: number;
  a: Float32Array;
  a1?: Float32Array;
  a2?: Float32Array;
  /** DIFF V2: each head's λ at the query token [layers · heads]. */
  lambda?: Float32Array;
}

/** The most cells per side a map query may ask for: longer texts are pooled into this many cells. */
export const MAX_MAP_CELLS = 2048;

/** What `analysis/query` can ask of the current analysis (rows have their own message). */
export type AnalysisQuery =
  | { kind: 'columns'; layer: number; key: number }
  | { kind: 'map'; layer: number; head: number; maxCells: number }
  /** The mean over a layer's heads of their maps (pooled like `map` when the text has more tokens than maxCells). */
  | { kind: 'meanMap'; layer: number; maxCells: number }
  | { kind: 'stats'; layer: number }
  | { kind: 'whatIf'; layer: number; head: number; query: number }
  | { kind: 'rollout'; query: number; mode: 'abs' | 'positive' }
  | { kind: 'valueWeighted'; layer: number; head: number; query: number }
  | { kind: 'surprisal' };

/**
 * A typed-array answer: `data` has the product of `dims` values, row-major. dims per kind —
 * columns [heads, T]; map and meanMap [P, P]; stats [heads, 6] (entropy A1, entropy A2, negative mass, share |a| < 1e-3,
 * first-token mass, max row-sum error); whatIf [8, T] (WHAT_IF_VIEWS order); rollout [T]; valueWeighted [T];
 * surprisal [T] (nats, NaN for the first token).
 */
export interface TensorPayload {
  kind: AnalysisQuery['kind'];
  dims: number[];
  data: Float32Array;
}

/** The inspector's state as the panel draws it; the host owns it and sends it after every change (as a PanelUpdate: the labels only when they change). */
export interface PanelState {
  /** File name and the lines the analysis covers. */
  source: string;
  /** Set when the window is longer than the model was trained on: what that means for what is shown. */
  contextNote: string | null;
  /** Analyzed models: the chosen one first, then its twin when comparing. */
  models: string[];
  /** Display text of every token of the analyzed window. */
  labels: string[];
  layer: number | 'all';
  head: number | 'mean' | 'maxAbs';
  viewLabel: string;
  direction: 'attendsTo' | 'attendedBy';
  /** The token the editor's highlights are for (hover or cursor), or null. */
  focus: number | null;
  measure: MeasureReport | null;
}

/**
 * PanelState as sent: `labels` is left out when it has not changed since the last state sent (focus moves resend the
 * rest up to ten times a second; the labels, up to maxTokens strings, change only with a new analysis).
 */
export type PanelUpdate = Omit<PanelState, 'labels'> & { labels?: string[] };

export interface MeasureReport {
  query: number;
  /** Token range [first, last) of the selection. */
  span: [number, number];
  results: { model: string; selection: number; firstToken: number; rest: number }[];
}

export interface PngExport {
  /** data:image/png;base64,… */
  dataUrl: string;
  width: number;
  height: number;
}

/**
 * What the explorer (a webview panel in the editor area) draws: the side panel's state, plus each analyzed model's
 * facts and the session it belongs to. Answers to the explorer's requests carry no session: it asks again when the
 * session changes and drops answers to older ones.
 */
export interface ExplorerState extends PanelState {
  /** One per model of `models`, in the same order. */
  analyses: AnalysisInfo[];
  /** Changes with every analysis shown (a new text, another model); the comparison adds a model to the same one. */
  session: number;
}

export type ExplorerUpdate = Omit<ExplorerState, 'labels'> & { labels?: string[] };

/** What the panel found when it loaded a user's model: where it reads attention from, and how long an input may be. */
export interface ModelLoadResult {
  model: string;
  readFrom: 'qk' | 'probs';
  tokenLimit: number;
  /** Largest |attention from Q/K − the graph's softmax| on the check input (NaN when not checked). */
  maxError: number;
  /** Set when the graph declares a key/value cache that the check of its chunks refused (why); it then runs in one pass. */
  cacheNote?: string;
}

/** Host → webview. */
export type ToWebview =
  | { method: 'config/didChange'; backendPreference: BackendPreference }
  | { method: 'probe/run'; id: number; backendPreference: BackendPreference; tokens: number }
  | { method: 'analysis/run'; id: number; backendPreference: BackendPreference; model: string; ids: Int32Array }
  /** Start loading a bundled model's runtime and session now (while the host tokenizes), so the run finds it ready. */
  | { method: 'model/warm'; backendPreference: BackendPreference; model: string }
  /** A user's model package (validated by the host), sent once before its first analysis; bundled ones are fetched. */
  | { method: 'model/load'; id: number; backendPreference: BackendPreference; model: string; manifest: unknown; onnx: Uint8Array }
  | { method: 'analysis/rows'; id: number; model: string; query: number }
  | { method: 'analysis/query'; id: number; model: string; query: AnalysisQuery }
  | { method: 'analysis/clear' }
  | { method: 'view/update'; state: PanelUpdate }
  | { method: 'export/png'; id: number }
  /** To the explorer: what to draw (null: nothing analyzed), and the answers to its requests. */
  | { method: 'explorer/state'; state: ExplorerUpdate | null }
  | { method: 'explorer/query/done'; id: number; ok: true; result: TensorPayload }
  | { method: 'explorer/query/done'; id: number; ok: false; error: string }
  | { method: 'explorer/rows/done'; id: number; ok: true; result: RowsPayload }
  | { method: 'explorer/rows/done'; id: number; ok: false; error: string };

/** Webview → host. */
export type ToHost =
  | { method: 'webview/ready'; capabilities: Capabilities }
  /** The backend setting changed: the backend now chosen, and why. */
  | { method: 'capabilities/didChange'; capabilities: Capabilities }
  | { method: 'backend/timed'; timing: BackendTiming }
  | { method: 'probe/run/done'; id: number; ok: true; result: ProbeResult }
  | { method: 'probe/run/done'; id: number; ok: false; error: string }
  | { method: 'analysis/run/done'; id: number; ok: true; result: AnalysisInfo }
  | { method: 'analysis/run/done'; id: number; ok: false; error: string }
  /** A long analysis runs in chunks: how many of its tokens have run (for the host's progress notification). */
  | { method: 'analysis/progress'; id: number; done: number; total: number }
  | { method: 'model/load/done'; id: number; ok: true; result: ModelLoadResult }
  | { method: 'model/load/done'; id: number; ok: false; error: string }
  | { method: 'analysis/rows/done'; id: number; ok: true; result: RowsPayload }
  | { method: 'analysis/rows/done'; id: number; ok: false; error: string }
  | { method: 'analysis/query/done'; id: number; ok: true; result: TensorPayload }
  | { method: 'analysis/query/done'; id: number; ok: false; error: string }
  | { method: 'export/png/done'; id: number; ok: true; result: PngExport }
  | { method: 'export/png/done'; id: number; ok: false; error: string }
  | { method: 'ui/selectHead'; layer: number; head: number }
  | { method: 'ui/focusToken'; token: number }
  /** The side panel's button (or a head's "open" in its grid): show the explorer. */
  | { method: 'ui/openExplorer' }
  /** From the explorer: it is ready for its state; requests for the session it draws (relayed to the side panel). */
  | { method: 'explorer/ready' }
  | { method: 'explorer/query'; id: number; session: number; model: string; query: AnalysisQuery }
  | { method: 'explorer/rows'; id: number; session: number; model: string; query: number }
  | { method: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type ToHostMethod = ToHost['method'];
export type ToWebviewMethod = ToWebview['method'];

// ---------------------------------------------------------------------------------------------------------
// Validation. Hand-written guards: the union is small, and a schema library would be the webview's
// largest dependency after ORT. Each guard returns a reason, so the log names what was wrong.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isBackend = (v: unknown): v is Backend => v === 'webgpu' || v === 'wasm';
const isPreference = (v: unknown): v is BackendPreference => v === 'auto' || isBackend(v);

export type Parsed<T> = { ok: true; message: T } | { ok: false; method: string; reason: string };

function fail<T>(raw: unknown, reason: string): Parsed<T> {
  const method =
    isObj(raw) && isStr(raw.method) ? raw.method : raw === null ? 'null' : typeof raw === 'object' ? '(no method)' : typeof raw;
  return { ok: false, method, reason };
}

function checkAdapter(v: unknown): string | null {
  if (v === null) return null;
  if (!isObj(v)) return 'capabilities.adapter must be an object or null';
  for (const k of ['vendor', 'architecture', 'device', 'description'] as const) {
    if (!isStr(v[k])) return `capabilities.adapter.${k} must be a string`;
  }
  if (!isBool(v.shaderF16)) return 'capabilities.adapter.shaderF16 must be a boolean';
  if (!isBool(v.software)) return 'capabilities.adapter.software must be a boolean';
  return null;
}

function checkCapabilities(v: unknown): string | null {
  if (!isObj(v)) return 'capabilities must be an object';
  const a = checkAdapter(v.adapter);
  if (a) return a;
  if (!(v.webgpuUnavailableReason === null || isStr(v.webgpuUnavailableReason))) {
    return 'capabilities.webgpuUnavailableReason must be a string or null';
  }
  if (!isBackend(v.backend)) return 'capabilities.backend must be "webgpu" or "wasm"';
  if (!isStr(v.backendReason)) return 'capabilities.backendReason must be a string';
  if (!isBool(v.crossOriginIsolated)) return 'capabilities.crossOriginIsolated must be a boolean';
  if (!isStr(v.userAgent)) return 'capabilities.userAgent must be a string';
  if (v.untimed !== undefined && !isBool(v.untimed)) return 'capabilities.untimed must be a boolean';
  return null;
}

export function checkBackendTiming(v: unknown): string | null {
  if (!isObj(v)) return 'timing must be an object';
  if (!isStr(v.adapter) || v.adapter.length > 1000) return 'timing.adapter must be text of at most 1000 characters';
  if (!isStr(v.model) || !MODEL_NAME.test(v.model)) return 'timing.model must be a package name';
  if (!isInt(v.tokens) || v.tokens < 1) return 'timing.tokens must be a positive integer';
  for (const k of ['wasmMs', 'webgpuMs'] as const) if (!isNum(v[k]) || v[k] <= 0) return `timing.${k} must be a positive number`;
  if (!isStr(v.at) || Number.isNaN(Date.parse(v.at))) return 'timing.at must be a date';
  return null;
}

function checkProbeResult(v: unknown): string | null {
  if (!isObj(v)) return 'result must be an object';
  if (!isBackend(v.backend)) return 'result.backend must be "webgpu" or "wasm"';
  if (!isInt(v.tokens)) return 'result.tokens must be an integer';
  if (!Array.isArray(v.firstRow) || !v.firstRow.every(isNum)) return 'result.firstRow must be an array of numbers';
  for (const k of ['maxAbsError', 'sessionMs', 'runMs'] as const) {
    if (!isNum(v[k])) return `result.${k} must be a finite number`;
  }
  return null;
}

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;

function checkAnalysisInfo(v: unknown): string | null {
  if (!isObj(v)) return 'result must be an object';
  if (!isStr(v.model) || !MODEL_NAME.test(v.model)) return 'result.model must be a package name';
  if (!isBackend(v.backend)) return 'result.backend must be "webgpu" or "wasm"';
  for (const k of ['tokens', 'layers', 'heads'] as const) if (!isInt(v[k]) || (v[k] as number) < 1) return `result.${k} must be a positive integer`;
  if (!Array.isArray(v.lambdas) || !v.lambdas.every(isNum)) return 'result.lambdas must be an array of numbers';
  if (!isNum(v.runMs)) return 'result.runMs must be a finite number';
  if (!['softmax', 'diff-v1', 'diff-v2'].includes(v.attention as string)) return 'result.attention must be softmax, diff-v1 or diff-v2';
  if (!isBool(v.valueWeighted)) return 'result.valueWeighted must be a boolean';
  return checkReadFrom(v);
}

/** Where attention is read from and the input limit: in analysis results and model-load results alike. */
function checkReadFrom(v: Obj): string | null {
  if (v.readFrom !== 'qk' && v.readFrom !== 'probs') return 'result.readFrom must be "qk" or "probs"';
  if (!isInt(v.tokenLimit) || v.tokenLimit < 1) return 'result.tokenLimit must be a positive integer';
  return null;
}

function checkModelLoad(v: unknown): string | null {
  if (!isObj(v) || !isStr(v.model) || !MODEL_NAME.test(v.model)) return 'result.model must be a package name';
  if (v.cacheNote !== undefined && !(isStr(v.cacheNote) && v.cacheNote.length <= 2000)) return 'result.cacheNote must be text of at most 2000 characters';
  return checkReadFrom(v) ?? (typeof v.maxError === 'number' ? null : 'result.maxError must be a number');
}

function checkRows(v: unknown): string | null {
  if (!isObj(v)) return 'result must be an object';
  for (const k of ['layers', 'heads', 'tokens'] as const) if (!isInt(v[k]) || (v[k] as number) < 1) return `result.${k} must be a positive integer`;
  if (!isInt(v.query) || (v.query as number) < 0 || (v.query as number) >= (v.tokens as number)) return 'result.query must be a token index';
  const n = (v.layers as number) * (v.heads as number) * (v.tokens as number);
  for (const k of ['a', 'a1', 'a2'] as const) {
    if (k !== 'a' && v[k] === undefined) continue;
    if (!(v[k] instanceof Float32Array)) return `result.${k} must be a Float32Array`;
    if ((v[k] as Float32Array).length !== n) return `result.${k} has ${(v[k] as Float32Array).length} values, layers × heads × tokens = ${n}`;
  }
  if (v.lambda !== undefined && (!(v.lambda instanceof Float32Array) || v.lambda.length !== (v.layers as number) * (v.heads as number))) return 'result.lambda must be a Float32Array of layers × heads';
  return null;
}

const QUERY_KINDS = ['columns', 'map', 'meanMap', 'stats', 'whatIf', 'rollout', 'valueWeighted', 'surprisal'];

function checkTensorPayload(v: unknown): string | null {
  if (!isObj(v)) return 'result must be an object';
  if (!QUERY_KINDS.includes(v.kind as string)) return 'result.kind is not a known query kind';
  if (!Array.isArray(v.dims) || v.dims.length === 0 || !v.dims.every((d) => isInt(d) && d >= 0)) return 'result.dims must be non-negative integers';
  if (!(v.data instanceof Float32Array)) return 'result.data must be a Float32Array';
  const n = (v.dims as number[]).reduce((a, b) => a * b, 1);
  return v.data.length === n ? null : `result.data has ${v.data.length} values, dims need ${n}`;
}

function checkPng(v: unknown): string | null {
  if (!isObj(v)) return 'result must be an object';
  if (!isStr(v.dataUrl) || !v.dataUrl.startsWith('data:image/png;base64,')) return 'result.dataUrl must be a PNG data URL';
  if (!isInt(v.width) || !isInt(v.height) || v.width < 1 || v.height < 1) return 'result.width and result.height must be positive integers';
  return null;
}

function checkPanelState(v: unknown): string | null {
  if (!isObj(v)) return 'state must be an object';
  if (!isStr(v.source)) return 'state.source must be a string';
  if (!(v.contextNote === null || isStr(v.contextNote))) return 'state.contextNote must be a string or null';
  if (!Array.isArray(v.models) || !v.models.every((m) => isStr(m) && MODEL_NAME.test(m))) return 'state.models must be package names';
  if (v.labels !== undefined && (!Array.isArray(v.labels) || !v.labels.every(isStr))) return 'state.labels must be strings';
  if (!(v.layer === 'all' || (isInt(v.layer) && v.layer >= 0))) return 'state.layer must be a layer index or "all"';
  if (!(v.head === 'mean' || v.head === 'maxAbs' || (isInt(v.head) && v.head >= 0))) return 'state.head must be a head index, "mean" or "maxAbs"';
  if (!isStr(v.viewLabel)) return 'state.viewLabel must be a string';
  if (v.direction !== 'attendsTo' && v.direction !== 'attendedBy') return 'state.direction must be attendsTo or attendedBy';
  if (!(v.focus === null || (isInt(v.focus) && v.focus >= 0))) return 'state.focus must be a token index or null';
  if (v.measure !== null) {
    const m = v.measure;
    if (!isObj(m) || !isInt(m.query) || !Array.isArray(m.span) || m.span.length !== 2 || !m.span.every(isInt)) return 'state.measure must have query and span';
    if (!Array.isArray(m.results) || !m.results.every((r) => isObj(r) && isStr(r.model) && isNum(r.selection) && isNum(r.firstToken) && isNum(r.rest))) {
      return 'state.measure.results must be {model, selection, firstToken, rest}';
    }
  }
  return null;
}

function checkExplorerState(v: unknown): string | null {
  if (v === null) return null;
  const r = checkPanelState(v);
  if (r) return r;
  const o = v as Obj;
  if (!isInt(o.session) || o.session < 0) return 'state.session must be a non-negative integer';
  if (!Array.isArray(o.analyses) || o.analyses.length !== (o.models as unknown[]).length) return 'state.analyses must have one entry per model';
  for (const a of o.analyses) {
    const e = checkAnalysisInfo(a);
    if (e) return `state.analyses: ${e.replace(/^result\./, '')}`;
  }
  return null;
}

/** Webview → host parse of the answers the explorer receives (the same payloads as the side panel's). */
function parseDoneToWebview(raw: Obj, check: (v: unknown) => string | null): Parsed<ToWebview> {
  const r = parseDone(raw, check);
  return r.ok ? { ok: true, message: raw as ToWebview } : r;
}

function checkQuery(q: unknown): string | null {
  if (!isObj(q) || !QUERY_KINDS.includes(q.kind as string)) return 'query.kind must be one of ' + QUERY_KINDS.join(', ');
  const ints: Record<string, string[]> = {
    columns: ['layer', 'key'],
    map: ['layer', 'head', 'maxCells'],
    meanMap: ['layer', 'maxCells'],
    stats: ['layer'],
    whatIf: ['layer', 'head', 'query'],
    rollout: ['query'],
    valueWeighted: ['layer', 'head', 'query'],
    surprisal: [],
  };
  for (const k of ints[q.kind as string]) if (!isInt(q[k]) || (q[k] as number) < 0) return `query.${k} must be a non-negative integer`;
  if ((q.kind === 'map' || q.kind === 'meanMap') && ((q.maxCells as number) < 1 || (q.maxCells as number) > MAX_MAP_CELLS)) return `query.maxCells must be in 1..${MAX_MAP_CELLS}`;
  if (q.kind === 'rollout' && q.mode !== 'abs' && q.mode !== 'positive') return 'query.mode must be "abs" or "positive"';
  return null;
}

function parseDone(raw: Obj, check: (v: unknown) => string | null): Parsed<ToHost> {
  if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
  if (raw.ok === true) {
    const r = check(raw.result);
    return r ? fail(raw, r) : { ok: true, message: raw as ToHost };
  }
  if (raw.ok === false) return isStr(raw.error) ? { ok: true, message: raw as ToHost } : fail(raw, 'error must be a string');
  return fail(raw, 'ok must be a boolean');
}

export function parseToHost(raw: unknown): Parsed<ToHost> {
  if (!isObj(raw) || !isStr(raw.method)) return fail(raw, 'not an object with a string "method"');
  switch (raw.method) {
    case 'webview/ready':
    case 'capabilities/didChange': {
      const r = checkCapabilities(raw.capabilities);
      return r ? fail(raw, r) : { ok: true, message: raw as ToHost };
    }
    case 'backend/timed': {
      const r = checkBackendTiming(raw.timing);
      return r ? fail(raw, r) : { ok: true, message: raw as ToHost };
    }
    case 'probe/run/done':
      return parseDone(raw, checkProbeResult);
    case 'analysis/run/done':
      return parseDone(raw, checkAnalysisInfo);
    case 'analysis/rows/done':
      return parseDone(raw, checkRows);
    case 'model/load/done':
      return parseDone(raw, checkModelLoad);
    case 'analysis/query/done':
      return parseDone(raw, checkTensorPayload);
    case 'export/png/done':
      return parseDone(raw, checkPng);
    case 'ui/selectHead':
      return isInt(raw.layer) && raw.layer >= 0 && isInt(raw.head) && raw.head >= 0
        ? { ok: true, message: raw as ToHost }
        : fail(raw, 'layer and head must be non-negative integers');
    case 'ui/focusToken':
      return isInt(raw.token) && raw.token >= 0 ? { ok: true, message: raw as ToHost } : fail(raw, 'token must be a non-negative integer');
    case 'analysis/progress':
      if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
      return isInt(raw.done) && isInt(raw.total) && raw.done >= 0 && raw.total >= raw.done ? { ok: true, message: raw as ToHost } : fail(raw, 'done and total must be integers with 0 ≤ done ≤ total');
    case 'ui/openExplorer':
    case 'explorer/ready':
      return { ok: true, message: raw as ToHost };
    case 'explorer/query':
    case 'explorer/rows': {
      if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
      if (!isInt(raw.session) || raw.session < 0) return fail(raw, 'session must be a non-negative integer');
      if (!isStr(raw.model) || !MODEL_NAME.test(raw.model)) return fail(raw, 'model must be a package name');
      if (raw.method === 'explorer/rows') return isInt(raw.query) && raw.query >= 0 ? { ok: true, message: raw as ToHost } : fail(raw, 'query must be a non-negative integer');
      const r = checkQuery(raw.query);
      return r ? fail(raw, r) : { ok: true, message: raw as ToHost };
    }
    case 'log': {
      if (!(raw.level === 'info' || raw.level === 'warn' || raw.level === 'error')) {
        return fail(raw, 'level must be info, warn or error');
      }
      return isStr(raw.message) ? { ok: true, message: raw as ToHost } : fail(raw, 'message must be a string');
    }
    default:
      return fail(raw, 'unknown method');
  }
}

export function parseToWebview(raw: unknown): Parsed<ToWebview> {
  if (!isObj(raw) || !isStr(raw.method)) return fail(raw, 'not an object with a string "method"');
  switch (raw.method) {
    case 'config/didChange':
      return isPreference(raw.backendPreference)
        ? { ok: true, message: raw as ToWebview }
        : fail(raw, 'backendPreference must be auto, webgpu or wasm');
    case 'probe/run': {
      if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
      if (!isPreference(raw.backendPreference)) return fail(raw, 'backendPreference must be auto, webgpu or wasm');
      if (!isInt(raw.tokens) || raw.tokens < 1 || raw.tokens > 4096) return fail(raw, 'tokens must be an integer in 1..4096');
      return { ok: true, message: raw as ToWebview };
    }
    case 'analysis/run': {
      if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
      if (!isPreference(raw.backendPreference)) return fail(raw, 'backendPreference must be auto, webgpu or wasm');
      if (!isStr(raw.model) || !MODEL_NAME.test(raw.model)) return fail(raw, 'model must be a package name');
      if (!(raw.ids instanceof Int32Array)) return fail(raw, 'ids must be an Int32Array');
      return { ok: true, message: raw as ToWebview };
    }
    case 'model/warm':
      if (!isPreference(raw.backendPreference)) return fail(raw, 'backendPreference must be auto, webgpu or wasm');
      return isStr(raw.model) && MODEL_NAME.test(raw.model) ? { ok: true, message: raw as ToWebview } : fail(raw, 'model must be a package name');
    case 'model/load': {
      if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
      if (!isPreference(raw.backendPreference)) return fail(raw, 'backendPreference must be auto, webgpu or wasm');
      if (!isStr(raw.model) || !MODEL_NAME.test(raw.model)) return fail(raw, 'model must be a package name');
      if (!isObj(raw.manifest)) return fail(raw, 'manifest must be an object');
      if (!(raw.onnx instanceof Uint8Array) || raw.onnx.length === 0) return fail(raw, 'onnx must be a non-empty Uint8Array');
      return { ok: true, message: raw as ToWebview };
    }
    case 'analysis/query': {
      if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
      if (!isStr(raw.model) || !MODEL_NAME.test(raw.model)) return fail(raw, 'model must be a package name');
      const r = checkQuery(raw.query);
      return r ? fail(raw, r) : { ok: true, message: raw as ToWebview };
    }
    case 'analysis/rows':
      if (!isInt(raw.id)) return fail(raw, 'id must be an integer');
      if (!isStr(raw.model) || !MODEL_NAME.test(raw.model)) return fail(raw, 'model must be a package name');
      return isInt(raw.query) && raw.query >= 0 ? { ok: true, message: raw as ToWebview } : fail(raw, 'query must be a non-negative integer');
    case 'analysis/clear':
      return { ok: true, message: raw as ToWebview };
    case 'view/update': {
      const r = checkPanelState(raw.state);
      return r ? fail(raw, r) : { ok: true, message: raw as ToWebview };
    }
    case 'export/png':
      return isInt(raw.id) ? { ok: true, message: raw as ToWebview } : fail(raw, 'id must be an integer');
    case 'explorer/state': {
      const r = checkExplorerState(raw.state);
      return r ? fail(raw, r) : { ok: true, message: raw as ToWebview };
    }
    case 'explorer/query/done':
      return parseDoneToWebview(raw, checkTensorPayload);
    case 'explorer/rows/done':
      return parseDoneToWebview(raw, checkRows);
    default:
      return fail(raw, 'unknown method');
  }
}

/** Which adapter a timing belongs to: what the browser reports about it (the same GPU and driver give the same key). */
export function adapterKey(a: Pick<GpuAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>): string {
  return [a.vendor, a.architecture, a.device, a.description].join('|').slice(0, 1000);
}

/** Timings the host keeps: the newest per adapter, at most this many adapters (an eGPU, a laptop's two GPUs…). */
export const BACKEND_TIMINGS_KEPT = 8;
export function rememberTiming(kept: readonly BackendTiming[], t: BackendTiming): BackendTiming[] {
  return [t, ...kept.filter((k) => k.adapter !== t.adapter)].slice(0, BACKEND_TIMINGS_KEPT);
}

/**
 * Picks the backend from the user's preference, the adapter and, where the panel has timed this adapter before, that
 * timing; and says why. `auto` never runs on a software adapter: WebGPU emulated on the CPU (SwiftShader) ran the
 * 394-token sample in 25.3 s against 1.2 s on wasm here. On a hardware adapter it takes the faster of the two as
 * timed, and WebGPU until then (`untimed`: the panel then times both once).
 */
export function chooseBackend(preference: BackendPreference, adapter: Pick<GpuAdapterInfo, 'software' | 'vendor' | 'architecture' | 'description'> | null, timing?: BackendTiming): { backend: Backend; reason: string; untimed?: boolean } {
  const name = adapter ? [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ') || 'unnamed adapter' : '';
  if (preference === 'wasm') return { backend: 'wasm', reason: 'the setting attentionInspector.backend is "wasm"' };
  if (!adapter) return { backend: 'wasm', reason: preference === 'webgpu' ? 'the setting asks for WebGPU, but there is no WebGPU adapter' : 'there is no WebGPU adapter' };
  if (preference === 'webgpu') return { backend: 'webgpu', reason: `the setting attentionInspector.backend is "webgpu" (${name}${adapter.software ? ', a software adapter: expect it to be slow' : ''})` };
  if (adapter.software) {
    return { backend: 'wasm', reason: `the WebGPU adapter (${name}) is a software renderer, far slower than wasm; set attentionInspector.backend to "webgpu" to use it anyway` };
  }
  if (timing) {
    const backend: Backend = timing.wasmMs < timing.webgpuMs ? 'wasm' : 'webgpu';
    const ms = (x: number) => `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`;
    return { backend, reason: `timed on this machine (${timing.at.slice(0, 10)}): a ${timing.tokens}-token forward of ${timing.model} took ${ms(timing.webgpuMs)} on WebGPU (${name}) and ${ms(timing.wasmMs)} on wasm` };
  }
  return { backend: 'webgpu', reason: `a hardware WebGPU adapter (${name}), not yet timed against wasm on this machine`, untimed: true };
}

/** Whether an adapter emulates WebGPU on the CPU: the browser says so (fallback adapter), or its name does. */
export function isSoftwareAdapter(a: { vendor: string; architecture: string; device: string; description: string }, fallback: boolean): boolean {
  return fallback || /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render|\bwarp\b/i.test(`${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}
