/**
 * The explorer: a webview panel in the editor area that draws the current analysis large (the selected head's map
 * with labelled axes, DIFF's decomposition for the focused token, the twins side by side, every head as a
 * thumbnail). It runs no model: its requests are relayed to the side panel, which holds the analyses, and it draws
 * the inspector's state, which the host sends after every change. Clicks in it focus tokens and choose heads in the
 * inspector, so the editor, the side panel and the explorer stay on the same token and head.
 */
import * as vscode from 'vscode';
import { parseToHost, type ExplorerState, type ToWebview } from '../core/protocol';
import type { Inspector } from '../inspector/inspector';
import type { PanelProvider } from '../panel/panelProvider';
import { explorerHtml } from '../panel/html';

export class ExplorerPanel implements vscode.Disposable {
  static readonly viewType = 'attentionInspector.explorer';

  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  /** The labels the explorer holds (sent once per analysis, like the side panel's). */
  private sentLabels: string[] | undefined;
  private readonly subs: vscode.Disposable[] = [];
  private stateTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly inspector: Inspector,
    private readonly side: PanelProvider,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subs.push(inspector.onDidChangeState(() => this.schedule()));
  }

  get visible(): boolean {
    return !!this.panel?.visible;
  }

  /** Opens the explorer beside the editor (or reveals it), keeping the keyboard where it is unless `focus`. */
  open(focus = true): void {
    if (this.panel) {
      this.panel.reveal(undefined, !focus);
      return;
    }
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const media = vscode.Uri.joinPath(this.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(
      ExplorerPanel.viewType,
      'Attention Explorer',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: !focus },
      // Kept alive while hidden: its maps are drawn from data that costs a round trip through the side panel.
      { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [dist, media] },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'icon.png');
    const uri = (...p: string[]) => panel.webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    panel.webview.html = explorerHtml({ cspSource: panel.webview.cspSource, scriptUri: uri('dist', 'explorer.js'), styleUri: uri('media', 'explorer.css') });
    this.panel = panel;
    this.ready = false;
    this.sentLabels = undefined;
    const subs = [
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      panel.onDidDispose(() => {
        subs.forEach((d) => d.dispose());
        if (this.panel === panel) this.panel = undefined;
      }),
    ];
  }

  private post(msg: ToWebview): void {
    void this.panel?.webview.postMessage(msg);
  }

  private schedule(): void {
    // Focus moves arrive at pointer speed: the explorer gets at most twenty states a second.
    if (this.stateTimer || !this.ready) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = undefined;
      this.sendState();
    }, 50);
  }

  private sendState(): void {
    if (!this.panel || !this.ready) return;
    const state: ExplorerState | null = this.inspector.explorerState();
    if (!state) {
      this.sentLabels = undefined;
      this.post({ method: 'explorer/state', state: null });
      return;
    }
    const { labels, ...rest } = state;
    this.post({ method: 'explorer/state', state: labels === this.sentLabels ? rest : state });
    this.sentLabels = labels;
  }

  private async receive(raw: unknown): Promise<void> {
    // Answers go to the webview that asked: one closed and reopened meanwhile starts its ids again.
    const asked = this.panel;
    const parsed = parseToHost(raw);
    if (!parsed.ok) {
      this.log.warn(`dropped an invalid message from the explorer (method ${parsed.method}): ${parsed.reason}`);
      return;
    }
    const msg = parsed.message;
    switch (msg.method) {
      case 'explorer/ready':
        this.ready = true;
        this.sentLabels = undefined;
        this.sendState();
        return;
      case 'ui/selectHead':
        this.inspector.setSelection({ layer: msg.layer, head: msg.head });
        return;
      case 'ui/focusToken':
        await this.inspector.focusToken(msg.token);
        return;
      case 'explorer/query':
      case 'explorer/rows': {
        const done = msg.method === 'explorer/query' ? 'explorer/query/done' : 'explorer/rows/done';
        const changed = 'the analysis changed; the explorer asks again';
        const answer = (m: ToWebview) => {
          if (this.panel === asked) this.post(m);
        };
        try {
          // Checked before and after: the side panel's analyses may be replaced while it answers.
          if (!this.inspector.isLive(msg.session, msg.model)) throw new Error(changed);
          const result = msg.method === 'explorer/query' ? await this.side.query(msg.model, msg.query) : await this.side.rows(msg.model, msg.query);
          if (!this.inspector.isLive(msg.session, msg.model)) throw new Error(changed);
          answer({ method: done, id: msg.id, ok: true, result } as ToWebview);
        } catch (e) {
          answer({ method: done, id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) } as ToWebview);
        }
        return;
      }
      case 'log':
        this.log[msg.level](`[explorer] ${msg.message}`);
        return;
      default:
        this.log.warn(`the explorer sent ${msg.method}, which it has no use for`);
    }
  }

  dispose(): void {
    clearTimeout(this.stateTimer);
    this.subs.forEach((d) => d.dispose());
    this.panel?.dispose();
  }
}
