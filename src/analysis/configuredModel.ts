import * as vscode from 'vscode';
import type { Inspector } from '../inspector/inspector';
import { modelPathDecision, resolveModelPath } from '../model/modelPath';
import type { ModelStore } from './modelStore';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Loads the model named by attentionInspector.modelPath at start and whenever the setting or the workspace's trust
 * changes. A path from workspace settings waits for workspace trust (modelPathDecision).
 */
export function configuredModel(inspector: Inspector, models: ModelStore, log: vscode.LogOutputChannel): vscode.Disposable {
  let applied = '';
  const apply = async () => {
    const d = modelPathDecision(vscode.workspace.getConfiguration('attentionInspector').inspect<string>('modelPath'), vscode.workspace.isTrusted);
    if (!d) return;
    if ('blocked' in d) {
      log.warn(d.blocked);
      const a = await vscode.window.showWarningMessage(d.blocked, 'Manage Workspace Trust');
      if (a) await vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    const folder = resolveModelPath(d.path, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
    if (folder === applied) return;
    try {
      const p = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Attention Inspector: opening the model in ${folder}` },
        () => models.openFolder(folder),
      );
      applied = folder;
      await inspector.setModel(p.id, vscode.window.activeTextEditor);
      log.info(`model ${p.id} from the ${d.from} setting attentionInspector.modelPath (${folder})${p.rewritten ? ', ONNX graph rewritten' : ''}`);
    } catch (e) {
      log.error(`attentionInspector.modelPath: ${message(e)}`);
      const a = await vscode.window.showErrorMessage(`Attention Inspector could not open the model of attentionInspector.modelPath: ${message(e)}`, 'Open Settings');
      if (a) await vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector.modelPath');
    }
  };
  void apply();
  return vscode.Disposable.from(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('attentionInspector.modelPath') || e.affectsConfiguration('attentionInspector.maxModelSizeMB')) {
        applied = '';
        void apply();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void apply()),
  );
}
