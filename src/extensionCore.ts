import * as vscode from 'vscode';
import { ModelStore } from './analysis/modelStore';
import { configuredModel } from './analysis/configuredModel';
import type { AnalysisInfo, AnalysisQuery, Capabilities, ProbeResult, RowsPayload, TensorPayload } from './core/protocol';
import type { TokenSpan } from './core/tokenizer';
import { registerInspectorCommands } from './inspector/commands';
import { Inspector, type InspectorSnapshot } from './inspector/inspector';
import type { AppliedDecorations } from './inspector/decorations';
import { ExplorerPanel } from './explorer/explorerPanel';
import { PanelProvider, describeAdapter } from './panel/panelProvider';
import { StatusItem } from './statusItem';

/** What activate() returns: used by the extension-host tests, and by any extension that depends on us. */
export interface AttentionInspectorApi {
  capabilities(): Capabilities | undefined;
  whenReady(): Promise<Capabilities>;
  runProbe(tokens?: number): Promise<ProbeResult>;
  /** Tokenizes `text` and runs a model (bundled, or opened with openModel) on it in the panel. */
  analyzeText(text: string, model?: string): Promise<{ info: AnalysisInfo; spans: TokenSpan[] }>;
  /** Rows of every layer and head for one query token of a model's last analysis (default: the model of the last analyzeText). */
  rows(query: number, model?: string): Promise<RowsPayload>;
  /** Columns, pooled maps, statistics, what-if views, rollout, value-weighted rows or surprisal of a model's last analysis. */
  query(q: AnalysisQuery, model?: string): Promise<TensorPayload>;
  /** Opens a model folder (a package, or an ONNX model that is rewritten and cached) and returns its id. */
  openModel(folder: string): Promise<{ id: string; rewritten: boolean; notes: string[]; attention: string }>;
  /** The editor inspector's state and what it has painted (for tests and scripts). */
  inspector: {
    /** Analyses an editor's document (or a range of it); rejects with the message a user would see. */
    analyze(editor: vscode.TextEditor, range?: vscode.Range): Promise<unknown>;
    snapshot(): InspectorSnapshot;
    /** Document offsets [start, end) of every analyzed token. */
    tokens(): [number, number][];
    decorations(): AppliedDecorations | undefined;
    /** Focuses the token at a document offset, as a hover or the cursor would; resolves with its weights once painted. */
    focusOffset(offset: number): Promise<Float32Array | undefined>;
    hoverText(token: number): Promise<string>;
    settled(): Promise<unknown>;
  };
  /** The explorer beside the editor. */
  explorer: { open(): void; visible(): boolean };
}

/** What the light activate() in extension.ts gets from this bundle, loaded on first use. */
export interface Core {
  /** The handler of every command we contribute, by id. */
  commands: ReadonlyMap<string, (...args: never[]) => unknown>;
  panel: PanelProvider;
  api: AttentionInspectorApi;
  /** Analyses the editor's document unless it is the one already analyzed (the analyzeOnOpen setting). */
  analyzeOnOpen(editor: vscode.TextEditor): void;
}

/**
 * Builds the inspector, the panel provider, the model store and the status item, and returns the command handlers
 * and the API. extension.ts loads this bundle (dist/extensionCore.js) with require() on the first command, the first
 * time the panel is shown, the first API call, or when a setting needs it.
 */
export function start(context: vscode.ExtensionContext): Core {
  const log = vscode.window.createOutputChannel('Attention Inspector', { log: true });
  const models = new ModelStore(context.extensionUri, context.globalStorageUri);
  const panel = new PanelProvider(context.extensionUri, log, (m) => models.upload(m), context.globalState);
  const status = new StatusItem(panel);
  const inspector = new Inspector(panel, models, status, log);
  const explorer = new ExplorerPanel(context.extensionUri, inspector, panel, log);
  let lastModel = 'twin-diff';

  const commands = new Map<string, (...args: never[]) => unknown>([
    ['attentionInspector.showPanel', () => vscode.commands.executeCommand(`${PanelProvider.viewType}.focus`)],
    ['attentionInspector.checkRuntime', () => checkRuntime(panel, log)],
    ['attentionInspector.showLog', () => log.show()],
    ['attentionInspector.openExplorer', () => explorer.open()],
    ...registerInspectorCommands(inspector, panel, models, log, context.extensionUri),
  ]);
  context.subscriptions.push(
    log,
    models,
    panel,
    status,
    inspector,
    explorer,
    panel.onDidRequestExplorer(() => explorer.open()),
    configuredModel(inspector, models, log),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('attentionInspector.backend')) panel.notifyConfigChanged();
    }),
  );

  const analyzeOnOpen = (e: vscode.TextEditor) => {
    if (inspector.current?.doc === e.document) return;
    inspector.analyze(e).catch((err) => log.warn(`analyze on open: ${err instanceof Error ? err.message : String(err)}`));
  };

  const api: AttentionInspectorApi = {
    capabilities: () => panel.capabilities,
    whenReady: () => panel.whenReady(),
    runProbe: (tokens) => panel.runProbe(tokens),
    analyzeText: async (text, model = 'twin-diff') => {
      lastModel = model;
      const { ids, spans } = await models.tokenize(model, text);
      return { info: await panel.analyze(model, ids), spans };
    },
    rows: (query, model = lastModel) => panel.rows(model, query),
    query: (q, model = lastModel) => panel.query(model, q),
    openModel: async (folder) => {
      const p = await models.openFolder(folder);
      return { id: p.id, rewritten: p.rewritten, notes: p.notes, attention: p.pkg.manifest.attention };
    },
    inspector: {
      analyze: (editor, range) => inspector.analyze(editor, range),
      snapshot: () => inspector.snapshot(),
      tokens: () => inspector.current?.spans.map((_, i) => inspector.current!.tokenRange(i)) ?? [],
      decorations: () => inspector.decorator.snapshot(),
      focusOffset: (offset) => inspector.focusOffset(offset),
      hoverText: async (token) => {
        const s = inspector.current;
        if (!s) throw new Error('nothing is analyzed');
        const w = await s.weights(inspector.model, inspector.view, inspector.selection, inspector.direction, token);
        return inspector.hoverText(s, token, w);
      },
      settled: () => inspector.settled(),
    },
    explorer: { open: () => explorer.open(), visible: () => explorer.visible },
  };
  return { commands, panel, api, analyzeOnOpen };
}

async function checkRuntime(panel: PanelProvider, log: vscode.LogOutputChannel): Promise<ProbeResult | undefined> {
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'Attention Inspector: checking the runtime' },
      () => panel.runProbe(),
    );
    const caps = panel.capabilities;
    const msg =
      `Attention Inspector runs on ${result.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'}` +
      (caps ? ` (adapter: ${describeAdapter(caps)})` : '') +
      `. Probe model: ${result.tokens} tokens, max error vs reference ${result.maxAbsError.toExponential(1)}, run ${result.runMs.toFixed(1)} ms.`;
    log.info(msg);
    void vscode.window.showInformationMessage(msg);
    return result;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log.error(`runtime check failed: ${msg}`);
    void vscode.window.showErrorMessage(`Attention Inspector: ${msg}`, 'Show Log').then((pick) => {
      if (pick) log.show();
    });
    return undefined;
  }
}

