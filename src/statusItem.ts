import * as vscode from 'vscode';
import type { PanelProvider } from './panel/panelProvider';
import { describeAdapter } from './panel/panelProvider';

/** Status bar entry: which backend the panel runs on, once it has said so. */
export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('attentionInspector.status', vscode.StatusBarAlignment.Right, 100);
  private readonly sub: vscode.Disposable;

  constructor(panel: PanelProvider) {
    this.item.name = 'Attention Inspector';
    this.item.command = 'attentionInspector.showPanel';
    this.sub = panel.onDidChangeCapabilities((c) => {
      this.item.text = `$(eye) ${c.backend === 'webgpu' ? 'WebGPU' : 'wasm'}`;
      this.item.tooltip = `Attention Inspector — backend ${c.backend}; GPU adapter: ${describeAdapter(c)}`;
      this.item.show();
    });
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
