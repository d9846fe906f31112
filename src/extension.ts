import * as vscode from 'vscode';
import type { Capabilities, ProbeResult } from './core/protocol';
import { PanelProvider, describeAdapter } from './panel/panelProvider';
import { StatusItem } from './statusItem';

/** What activate() returns: used by the extension-host tests, and by any extension that depends on us. */
export interface AttentionInspectorApi {
  capabilities(): Capabilities | undefined;
  whenReady(): Promise<Capabilities>;
  runProbe(tokens?: number): Promise<ProbeResult>;
}

export function activate(context: vscode.ExtensionContext): AttentionInspectorApi {
  const log = vscode.window.createOutputChannel('Attention Inspector', { log: true });
  const panel = new PanelProvider(context.extensionUri, log);
  const status = new StatusItem(panel);

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
