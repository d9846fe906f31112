/**
 * Activation, kept light: this bundle (dist/extension.js) imports nothing but `vscode`. It registers every command
 * we contribute, the panel's view provider and the analyzeOnOpen listener; the inspector, the tokenizer, zod,
 * protobufjs and the panel live in a second bundle (dist/extensionCore.js, src/extensionCore.ts) that is loaded with
 * require() the first time one of them is needed. `node bench/activation.mjs` measures both.
 *
 * Activation events: commands and the view activate the extension implicitly (VS Code ≥ 1.74). package.json adds only
 * `onLanguage`, for attentionInspector.analyzeOnOpen: the workbench fires it (without a language id) when the first
 * editor of any language opens, which is the moment that setting acts. `workspaceContains:` cannot see a setting
 * that lives in user settings, and `onLanguage:<id>` would need every language listed. Activating there costs only
 * this file (a few ms): the setting is read, and the core is loaded only when it is on.
 */
import * as vscode from 'vscode';
import type { AttentionInspectorApi, Core } from './extensionCore';

export type { AttentionInspectorApi } from './extensionCore';

const VIEW_TYPE = 'attentionInspector.panel';

export function activate(context: vscode.ExtensionContext): AttentionInspectorApi {
  let core: Core | undefined;
  const load = (): Core => {
    // A separate esbuild bundle (external here), so that activation does not parse it.
    core ??= (require('./extensionCore.js') as typeof import('./extensionCore')).start(context);
    return core;
  };
  const cfg = () => vscode.workspace.getConfiguration('attentionInspector');
  const contributed = (context.extension.packageJSON as { contributes: { commands: { command: string }[] } }).contributes.commands;

  context.subscriptions.push(
    ...contributed.map(({ command }) =>
      vscode.commands.registerCommand(command, (...args: never[]) => {
        const handler = load().commands.get(command);
        if (!handler) throw new Error(`Attention Inspector: no handler for ${command}`);
        return handler(...args);
      }),
    ),
    vscode.window.registerWebviewViewProvider(VIEW_TYPE, { resolveWebviewView: (view) => load().panel.resolveWebviewView(view) }, { webviewOptions: { retainContextWhenHidden: true } }),
    analyzeOnOpen(cfg, () => load()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('attentionInspector.modelPath') && hasModelPath(cfg())) load();
    }),
  );
  // `toggled` of Follow Cursor in menus reads this key before the inspector exists; the inspector keeps it up to date.
  void vscode.commands.executeCommand('setContext', 'attentionInspector.followCursor', cfg().get<boolean>('followCursor', true));
  // A model named in settings is opened at start, as before (after activate() returns).
  if (hasModelPath(cfg())) setTimeout(load, 0);

  const api = () => load().api;
  return {
    capabilities: () => api().capabilities(),
    whenReady: () => api().whenReady(),
    runProbe: (tokens) => api().runProbe(tokens),
    analyzeText: (text, model) => api().analyzeText(text, model),
    rows: (query, model) => api().rows(query, model),
    query: (q, model) => api().query(q, model),
    openModel: (folder) => api().openModel(folder),
    inspector: {
      analyze: (editor, range) => api().inspector.analyze(editor, range),
      snapshot: () => api().inspector.snapshot(),
      tokens: () => api().inspector.tokens(),
      decorations: () => api().inspector.decorations(),
      focusOffset: (offset) => api().inspector.focusOffset(offset),
      hoverText: (token) => api().inspector.hoverText(token),
      settled: () => api().inspector.settled(),
    },
    explorer: { open: () => api().explorer.open(), visible: () => api().explorer.visible() },
  };
}

function hasModelPath(c: vscode.WorkspaceConfiguration): boolean {
  const i = c.inspect<string>('modelPath');
  return [i?.globalValue, i?.workspaceValue, i?.workspaceFolderValue].some((v) => typeof v === 'string' && v.trim() !== '');
}

/**
 * Analyzes a file as soon as it becomes the active editor when attentionInspector.analyzeOnOpen is on. Reading the
 * setting costs nothing; the core bundle is loaded only when it is on.
 */
function analyzeOnOpen(cfg: () => vscode.WorkspaceConfiguration, load: () => Core): vscode.Disposable {
  const maybe = (e: vscode.TextEditor | undefined) => {
    if (!e || !cfg().get<boolean>('analyzeOnOpen', false)) return;
    if (!['file', 'untitled'].includes(e.document.uri.scheme)) return;
    load().analyzeOnOpen(e);
  };
  setTimeout(() => maybe(vscode.window.activeTextEditor), 0);
  return vscode.window.onDidChangeActiveTextEditor(maybe);
}

export function deactivate(): void {}
