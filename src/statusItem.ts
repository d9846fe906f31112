import * as vscode from 'vscode';
import type { PanelProvider } from './panel/panelProvider';
import { describeAdapter } from './panel/panelProvider';

export interface InspectorStatus {
  model: string;
  tokens: number;
  lines: string;
  stale: boolean;
  detail: string;
}

/** Status bar entry: the model, the backend the panel runs on, and how many tokens are analyzed. */
export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('attentionInspector.status', vscode.StatusBarAlignment.Right, 100);
  private readonly sub: vscode.Disposable;
  private backend: string | undefined;
  private adapter = '';
  private reason = '';
  private inspector: InspectorStatus | undefined;
  private analyzing: string | undefined;

  constructor(panel: PanelProvider) {
    this.item.name = 'Attention Inspector';
    this.item.command = 'attentionInspector.showPanel';
    this.sub = panel.onDidChangeCapabilities((c) => {
      this.backend = c.backend === 'webgpu' ? 'WebGPU' : 'wasm';
      this.adapter = describeAdapter(c);
      this.reason = c.backendReason;
      this.render();
    });
  }

  setInspector(s: InspectorStatus | undefined): void {
    this.inspector = s;
    this.render();
  }

  /** While an analysis runs the item says so instead of showing the previous one's figures. */
  setAnalyzing(what: string | undefined): void {
    this.analyzing = what;
    this.render();
  }

  private render(): void {
    if (!this.backend && !this.inspector && !this.analyzing) return this.item.hide();
    if (this.analyzing) {
      this.item.text = `$(sync~spin) ${this.analyzing}…`;
      this.item.tooltip = 'Attention Inspector is running the model; hover again when it has finished.';
      this.item.show();
      return;
    }
    const i = this.inspector;
    const parts = [i?.model, this.backend, i && `${i.tokens} tok${i.stale ? ' (edited)' : ''}`].filter(Boolean);
    this.item.text = `$(eye) ${parts.join(' · ')}`;
    const md = new vscode.MarkdownString(
      [
        '**Attention Inspector**',
        `Backend: ${this.backend ?? 'not started'}${this.reason ? `, because ${this.reason}` : ''}; GPU adapter: ${this.adapter || 'unknown'}`,
        i ? `${i.model}: ${i.tokens} tokens, ${i.lines}${i.stale ? ' — the text changed since; highlights cleared' : ''}` : 'Nothing analyzed: run Analyze Document (Ctrl+Shift+\' or ⌘⇧\' on macOS).',
        i ? i.detail : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    this.item.tooltip = md;
    this.item.show();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
