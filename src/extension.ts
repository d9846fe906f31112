import * as vscode from 'vscode';
import { BundledModels, type BundledModel } from './analysis/bundledModels';
import type { AnalysisInfo, AnalysisQuery, Capabilities, ProbeResult, RowsPayload, TensorPayload } from './core/protocol';
import type { TokenSpan } from './core/tokenizer';
import { PanelProvider, describeAdapter } from './panel/panelProvider';
import { StatusItem } from './statusItem';

/** What activate() returns: used by the extension-host tests, and by any extension that depends on us. */
export interface AttentionInspectorApi {
  capabilities(): Capabilities | undefined;
  whenReady(): Promise<Capabilities>;
  runProbe(tokens?: number): Promise<ProbeResult>;
  /** Tokenizes `text` and runs a bundled model on it in the panel. */
  analyzeText(text: string, model?: BundledModel): Promise<{ info: AnalysisInfo; spans: TokenSpan[] }>;
  /** Rows of every layer and head for one query token of the last analysis. */
  rows(query: number): Promise<RowsPayload>;
  /** Columns, pooled maps, statistics, what-if views, rollout or value-weighted rows of the last analysis. */
  query(q: AnalysisQuery): Promise<TensorPayload>;
}

export function activate(context: vscode.ExtensionContext): AttentionInspectorApi {
  const log = vscode.window.createOutputChannel('Attention Inspector', { log: true });
  const panel = new PanelProvider(context.extensionUri, log);
  const status = new StatusItem(panel);
  const models = new BundledModels(context.extensionUri);

  context.subscriptions.push(
    log,
    panel,
    status,
    vscode.window.registerWebviewViewProvider(PanelProvider.viewType, panel, {
      webviewOptions: { retainContextWhenHidden: true },
    }),
    vscode.commands.registerCommand('attentionInspector.showPanel', () =>
      vscode.commands.executeCommand(`${PanelProvider.viewType}.focus`),
    ),
    vscode.commands.registerCommand('attentionInspector.checkRuntime', () => checkRuntime(panel, log)),
    vscode.commands.registerCommand('attentionInspector.showLog', () => log.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('attentionInspector.backend')) panel.notifyConfigChanged();
    }),
  );

  return {
    capabilities: () => panel.capabilities,
    whenReady: () => panel.whenReady(),
    runProbe: (tokens) => panel.runProbe(tokens),
    analyzeText: async (text, model = 'twin-diff') => {
      const { ids, spans } = await models.tokenize(model, text);
      return { info: await panel.analyze(model, ids), spans };
    },
    rows: (query) => panel.rows(query),
    query: (q) => panel.query(q),
  };
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

export function deactivate(): void {}
