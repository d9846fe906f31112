import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { BUNDLED_GRAPH } from '../core/manifest';
import { ORT_DIR, ORT_RUNTIME_FILES } from '../core/ortFiles';
import { PROBE_FILE } from '../core/probe';
import { STATS_FILES } from '../core/statsFiles';
import {
  BACKEND_TIMINGS_KEPT,
  checkBackendTiming,
  parseToHost,
  rememberTiming,
  type AnalysisInfo,
  type BackendTiming,
  type AnalysisQuery,
  type TensorPayload,
  type BackendPreference,
  type Capabilities,
  type ModelLoadResult,
  type PanelState,
  type PngExport,
  type ProbeResult,
  type RowsPayload,
  type ToWebview,
} from '../core/protocol';
import { Deferred } from './deferred';
import { EARLY_SCRIPT, panelHtml } from './html';

/** globalState key of this machine's timings of wasm against WebGPU (BackendTiming[], newest first). */
const TIMINGS_KEY = 'attentionInspector.backendTimings';

/** A user's model package, read when the webview needs it. `version` changes when the package does. */
export interface ModelUpload {
  version: string;
  read: () => Promise<{ manifest: unknown; onnx: Uint8Array }>;
}


/**
 * The side panel. Holds only the view handle, the webview's reported capabilities and the requests waiting
 * for an answer; the view can be destroyed at any time, and every wait has a timeout.
 */
export class PanelProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewType = 'attentionInspector.panel';

  private view: vscode.WebviewView | undefined;
  private ready = new Deferred<Capabilities>();
  private capabilitiesValue: Capabilities | undefined;
  private readonly pending = new Map<number, Deferred<unknown>>();
  /** Users' models this webview has received, by package version (a reloaded webview has none). */
  private readonly loadedModels = new Map<string, { version: string; result: ModelLoadResult }>();
  /** The token labels the webview holds (see updateView). */
  private sentLabels: string[] | undefined;
  private nextId = 1;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly onDidChangeCapabilitiesEmitter = new vscode.EventEmitter<Capabilities>();
  readonly onDidChangeCapabilities = this.onDidChangeCapabilitiesEmitter.event;
  private readonly onDidSelectHeadEmitter = new vscode.EventEmitter<{ layer: number; head: number }>();
  /** A head was clicked (or chosen with the keyboard) in the panel's grid. */
  readonly onDidSelectHead = this.onDidSelectHeadEmitter.event;
  private readonly onDidFocusTokenEmitter = new vscode.EventEmitter<number>();
  readonly onDidFocusToken = this.onDidFocusTokenEmitter.event;
  private readonly onDidRequestExplorerEmitter = new vscode.EventEmitter<void>();
  /** The panel's "Open Explorer" button. */
  readonly onDidRequestExplorer = this.onDidRequestExplorerEmitter.event;
  private readonly onDidResetEmitter = new vscode.EventEmitter<void>();
  /** The webview reloaded or closed: its analyses are gone. */
  readonly onDidReset = this.onDidResetEmitter.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    /** A user's model package by id (undefined for bundled models, which the webview fetches itself). */
    private readonly uploads: (model: string) => ModelUpload | undefined = () => undefined,
    /** Where this machine's timings of wasm against WebGPU are kept (the extension's globalState). */
    private readonly memory?: vscode.Memento,
  ) {
    this.disposables.push(this.onDidChangeCapabilitiesEmitter, this.onDidSelectHeadEmitter, this.onDidFocusTokenEmitter, this.onDidResetEmitter, this.onDidRequestExplorerEmitter);
  }

  /** The bundled model the panel will most likely run first (the inspector's choice): the page's head starts its files. */
  firstModel: () => string | undefined = () => undefined;

  /** The timings this machine remembers, each checked (globalState may hold anything an older version wrote). */
  private backendTimings(): BackendTiming[] {
    const v = this.memory?.get<unknown>(TIMINGS_KEY);
    return Array.isArray(v) ? v.filter((t): t is BackendTiming => checkBackendTiming(t) === null).slice(0, BACKEND_TIMINGS_KEPT) : [];
  }

  get capabilities(): Capabilities | undefined {
    return this.capabilitiesValue;
  }

  /** Files the build should have put in dist/ (ORT's, the probe, the webview, the bundled models' index) but that are not there. */
  missingRuntimeFiles(): string[] {
    const files = [...ORT_RUNTIME_FILES.map((f) => `${ORT_DIR}/${f}`), `dist/${PROBE_FILE}`, ...Object.values(STATS_FILES).map((f) => `dist/${f}`), 'dist/webview.js', 'dist/models/index.json'];
    return files.filter((f) => !fs.existsSync(vscode.Uri.joinPath(this.extensionUri, f).fsPath));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist, media] };
    const uri = (...p: string[]) => view.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    const missing = this.missingRuntimeFiles();
    if (missing.length) this.log.error(`files missing from the extension: ${missing.join(', ')}`);
    const modelsUri = uri('dist', 'models') + '/'; // staged by the build (src/analysis/bundledModels.ts)
    view.webview.html = panelHtml({
      cspSource: view.webview.cspSource,
      scriptUri: uri('dist', 'webview.js'),
      styleUri: uri('media', 'panel.css'),
      ortBaseUri: uri(ORT_DIR) + '/',
      probeUri: uri('dist', PROBE_FILE),
      modelsUri,
      missingFiles: missing,
      backendPreference: backendPreference(),
      backendTimings: this.backendTimings(),
      early: this.earlyLoads(modelsUri),
      fileStamp: this.fileStamp(),
    });
    const subs: vscode.Disposable[] = [];
    subs.push(view.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)));
    subs.push(
      view.onDidDispose(() => {
        subs.forEach((d) => d.dispose());
        if (this.view === view) this.view = undefined;
        this.resetConnection('the Attention Inspector panel was closed');
      }),
    );
  }

  /**
   * The page's early script and what it loads: the first model's manifest and graph, where it is a bundled package
   * staged under dist/models, at the URLs AnalysisController.fetchBundled forms from the same `modelsUri` (it takes
   * these two loads over). None when dist/early.js is missing (the panel then fetches the files itself).
   */
  private earlyLoads(modelsUri: string): { script: string; files: string[] } | undefined {
    const m = this.firstModel();
    if (!m || this.uploads(m) || !/^[\w.-]+$/.test(m)) return undefined;
    const at = (...p: string[]) => vscode.Uri.joinPath(this.extensionUri, ...p).fsPath;
    if (!fs.existsSync(at('dist', 'models', m, BUNDLED_GRAPH))) return undefined;
    let script: string;
    try {
      script = fs.readFileSync(at('dist', EARLY_SCRIPT), 'utf8');
    } catch {
      return undefined;
    }
    return { script, files: [`${modelsUri}${m}/manifest.json`, `${modelsUri}${m}/${BUNDLED_GRAPH}`] };
  }

  /**
   * The stamp of the files the panel may keep in its cache (ORT's and the bundled models'): their names, sizes and
   * modification times, so a rebuild or an update names a new cache. Undefined (no cache) when they cannot be read.
   */
  private fileStamp(): string | undefined {
    try {
      const dirs = [ORT_DIR, 'dist/models'].map((d) => vscode.Uri.joinPath(this.extensionUri, d).fsPath);
      const parts: string[] = [];
      for (const dir of dirs) {
        for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
          if (!e.isFile()) continue;
          const p = `${e.parentPath}/${e.name}`;
          const st = fs.statSync(p);
          parts.push(`${p}:${st.size}:${st.mtimeMs}`);
        }
      }
      return createHash('sha256').update(parts.sort().join('\n')).digest('hex').slice(0, 16);
    } catch {
      return undefined;
    }
  }

  private resetConnection(reason: string): void {
    this.loadedModels.clear();
    this.sentLabels = undefined;
    for (const d of this.pending.values()) d.reject(new Error(`${reason} before it answered; run the command again.`));
    this.pending.clear();
    if (this.ready.settled) {
      this.ready = new Deferred<Capabilities>();
      this.onDidResetEmitter.fire();
    }
  }

  private receive(raw: unknown): void {
    const parsed = parseToHost(raw);
    if (!parsed.ok) {
      this.log.warn(`dropped an invalid message from the webview (method ${parsed.method}): ${parsed.reason}`);
      return;
    }
    const msg = parsed.message;
    switch (msg.method) {
      case 'webview/ready':
        // A second ready means the webview reloaded: whatever it was doing is lost.
        if (this.ready.settled) this.resetConnection('the panel reloaded');
        this.capabilitiesValue = msg.capabilities;
        this.log.info(`webview ready: backend ${msg.capabilities.backend} (${msg.capabilities.backendReason}); adapter ${describeAdapter(msg.capabilities)}`);
        this.ready.resolve(msg.capabilities);
        this.onDidChangeCapabilitiesEmitter.fire(msg.capabilities);
        this.post({ method: 'config/didChange', backendPreference: backendPreference() });
        break;
      case 'probe/run/done':
      case 'analysis/run/done':
      case 'model/load/done':
      case 'analysis/rows/done':
      case 'analysis/query/done':
      case 'export/png/done': {
        const waiting = this.pending.get(msg.id);
        if (!waiting) {
          this.log.warn(`answer for request ${msg.id}, which is no longer waited for (timed out or replaced)`);
          return;
        }
        this.pending.delete(msg.id);
        if (msg.ok) waiting.resolve(msg.result);
        else waiting.reject(new Error(msg.error));
        break;
      }
      case 'backend/timed':
        void this.memory?.update(TIMINGS_KEY, rememberTiming(this.backendTimings(), msg.timing));
        this.log.info(`WebGPU timed against wasm on this machine (${msg.timing.adapter}): ${msg.timing.tokens} tokens of ${msg.timing.model}, WebGPU ${msg.timing.webgpuMs.toFixed(1)} ms, wasm ${msg.timing.wasmMs.toFixed(1)} ms; remembered for auto`);
        break;
      case 'capabilities/didChange':
        this.capabilitiesValue = msg.capabilities;
        this.log.info(`backend ${msg.capabilities.backend}: ${msg.capabilities.backendReason}`);
        this.onDidChangeCapabilitiesEmitter.fire(msg.capabilities);
        break;
      case 'analysis/progress':
        this.progress.get(msg.id)?.(msg.done, msg.total);
        break;
      case 'ui/selectHead':
        this.onDidSelectHeadEmitter.fire({ layer: msg.layer, head: msg.head });
        break;
      case 'ui/focusToken':
        this.onDidFocusTokenEmitter.fire(msg.token);
        break;
      case 'ui/openExplorer':
        this.onDidRequestExplorerEmitter.fire();
        break;
      case 'log':
        this.log[msg.level](`[webview] ${msg.message}`);
        break;
      default:
        this.log.warn(`the panel sent ${msg.method}, which only the explorer sends`);
    }
  }

  private post(msg: ToWebview): void {
    void this.view?.webview.postMessage(msg);
  }

  notifyConfigChanged(): void {
    if (this.ready.settled) this.post({ method: 'config/didChange', backendPreference: backendPreference() });
  }

  /** Shows the panel and waits for its webview to report ready. */
  async whenReady(): Promise<Capabilities> {
    const missing = this.missingRuntimeFiles();
    if (missing.length) {
      throw new Error(
        `Attention Inspector is missing ${missing.join(', ')} from its installation. Reinstall the extension, or run "npm run build" in a development checkout.`,
      );
    }
    if (!this.view) await vscode.commands.executeCommand(`${PanelProvider.viewType}.focus`);
    const timeoutMs = timeoutSeconds() * 1000;
    const timer = new Deferred<never>(
      timeoutMs,
      `The Attention Inspector panel did not start within ${timeoutSeconds()} s. Open the panel (Attention Inspector: Show Panel) and run the command again; see the "Attention Inspector" output for details.`,
    );
    // The latest capabilities (a backend setting changed since the panel became ready updates them), not the ready ones.
    return Promise.race([this.ready.promise, timer.promise])
      .then((ready) => this.capabilitiesValue ?? ready)
      .finally(() => timer.resolve(undefined as never));
  }

  /** Sends a request to the webview and waits, with the configured timeout, for the answer with its id. */
  private async request<R>(what: string, build: (id: number) => ToWebview): Promise<R> {
    await this.whenReady();
    const id = this.nextId++;
    const seconds = timeoutSeconds();
    const waiting = new Deferred<unknown>(
      seconds * 1000,
      `The panel did not answer the ${what} within ${seconds} s (setting attentionInspector.webviewTimeoutSeconds). It may have been reloaded or closed; run the command again.`,
    );
    this.pending.set(id, waiting);
    waiting.promise.catch(() => this.pending.delete(id));
    this.post(build(id));
    return waiting.promise as Promise<R>;
  }

  /** Runs the probe model in the webview and returns what it measured. */
  runProbe(tokens = 16): Promise<ProbeResult> {
    return this.request('runtime check', (id) => ({ method: 'probe/run', id, backendPreference: backendPreference(), tokens }));
  }

  /**
   * Runs a model on token ids in the webview; the analysis stays there until the next one replaces it. A user's
   * model is sent to the webview first (ensureModel).
   */
  async analyze(model: string, ids: Int32Array, onProgress?: (done: number, total: number) => void): Promise<AnalysisInfo> {
    await this.ensureModel(model);
    let rid = -1;
    const run = this.request<AnalysisInfo>('analysis', (id) => {
      rid = id;
      if (onProgress) this.progress.set(id, onProgress);
      return { method: 'analysis/run', id, backendPreference: backendPreference(), model, ids };
    });
    return run.finally(() => this.progress.delete(rid));
  }

  /** Progress reports of running analyses, by request id. */
  private readonly progress = new Map<number, (done: number, total: number) => void>();

  /**
   * Starts the webview loading a bundled model's runtime and session without waiting (the first analysis then does
   * not pay for it after tokenizing). Opens the panel when it is not open; errors show up when the analysis runs.
   */
  warm(model: string): void {
    if (this.uploads(model)) return; // a user's model is loaded by ensureModel, with its checks
    if (!this.view) return; // the analysis that follows opens the panel; warming alone does not
    void this.whenReady()
      .then(() => this.post({ method: 'model/warm', backendPreference: backendPreference(), model }))
      .catch(() => undefined);
  }

  /** What the webview found when it loaded a user's model (undefined: bundled, or not loaded yet). */
  modelLoad(model: string): ModelLoadResult | undefined {
    return this.loadedModels.get(model)?.result;
  }

  /**
   * Sends a user's model to the webview (once per webview and package version); the answer says where its attention
   * is read from and how long an input may be. Bundled models need nothing (undefined).
   */
  async ensureModel(model: string): Promise<ModelLoadResult | undefined> {
    const pkg = this.uploads(model);
    if (!pkg) return undefined;
    const have = this.loadedModels.get(model);
    if (have?.version === pkg.version) return have.result;
    const { manifest, onnx } = await pkg.read();
    const result = await this.request<ModelLoadResult>('model upload', (id) => ({ method: 'model/load', id, backendPreference: backendPreference(), model, manifest, onnx }));
    // The webview keeps one user model resident and let the others go.
    this.loadedModels.clear();
    this.loadedModels.set(model, { version: pkg.version, result });
    return result;
  }

  /** Columns, a pooled map, statistics, what-if views, rollout, value-weighted row or surprisal of a model's current analysis. */
  query(model: string, q: AnalysisQuery): Promise<TensorPayload> {
    return this.request(`${q.kind} request`, (id) => ({ method: 'analysis/query', id, model, query: q }));
  }

  /** Every layer's and head's row for one query of a model's current analysis. */
  rows(model: string, query: number): Promise<RowsPayload> {
    return this.request('row request', (id) => ({ method: 'analysis/rows', id, model, query }));
  }

  /** The chosen model's heatmap as PNG. */
  exportPng(): Promise<PngExport> {
    return this.request('heatmap export', (id) => ({ method: 'export/png', id }));
  }

  /** Sends the inspector state to draw (null: nothing analyzed). Does not open the panel. */
  updateView(state: PanelState | null): void {
    if (!this.ready.settled) return;
    if (!state) {
      this.sentLabels = undefined;
      this.post({ method: 'analysis/clear' });
      return;
    }
    // A session's labels are one array: sent once, then left out until another session's arrive.
    const { labels, ...rest } = state;
    this.post({ method: 'view/update', state: labels === this.sentLabels ? rest : state });
    this.sentLabels = labels;
  }

  dispose(): void {
    this.resetConnection('Attention Inspector was deactivated');
    this.disposables.forEach((d) => d.dispose());
  }
}

export function describeAdapter(c: Capabilities): string {
  if (!c.adapter) return `none (${c.webgpuUnavailableReason ?? 'unknown reason'})`;
  const a = c.adapter;
  return [a.vendor || 'unknown vendor', a.architecture, a.description].filter(Boolean).join(' / ');
}

function backendPreference(): BackendPreference {
  const v = vscode.workspace.getConfiguration('attentionInspector').get<string>('backend', 'auto');
  return v === 'webgpu' || v === 'wasm' ? v : 'auto';
}

function timeoutSeconds(): number {
  const v = vscode.workspace.getConfiguration('attentionInspector').get<number>('webviewTimeoutSeconds', 60);
  return Number.isFinite(v) && v > 0 ? v : 60;
}
