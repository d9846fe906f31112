/**
 * The palette commands of the inspector. Each takes optional arguments (used by keybindings, scripts and the
 * tests) and otherwise asks with a quick pick or a save dialog.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { BUNDLED_MODELS, type ModelStore } from '../analysis/modelStore';
import { rowsToCsv, rowsToJson, type RowsExport } from '../core/exportFormats';
import type { Aggregation } from '../core/grouping';
import { VIEWS, isViewId, type Direction, type HeadSelection, type ViewId } from '../core/views';
import type { PanelProvider } from '../panel/panelProvider';
import { Inspector, message } from './inspector';

type ExportFormat = 'png' | 'csv' | 'json';

type Handler = (...args: never[]) => unknown;

/** The inspector's command handlers by id; extension.ts registers them (errors become a message and the log). */
export function registerInspectorCommands(inspector: Inspector, panel: PanelProvider, models: ModelStore, log: vscode.LogOutputChannel, extensionUri: vscode.Uri): [string, Handler][] {
  /** Opens a model folder (rewriting an ONNX graph can take a while: progress is shown) and selects it. */
  const openModel = async (folder: string): Promise<string> => {
    const p = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Attention Inspector: opening the model in ${folder}` }, () => models.openFolder(folder));
    const m = p.pkg.manifest;
    log.info(`opened ${p.id} from ${p.source}: ${m.attention}, ${m.layers} layers × ${m.heads} heads${p.rewritten ? ` (ONNX graph rewritten to output Q/K${m.attention === 'softmax' ? '' : ' and λ'}, cached in ${p.pkg.folder})` : ''}${p.notes.length ? `; ${p.notes.join('; ')}` : ''}`);
    await inspector.setModel(p.id, vscode.window.activeTextEditor);
    void vscode.window.showInformationMessage(
      `Attention Inspector: ${p.id} — ${m.attention}, ${m.layers} layers × ${m.heads} heads${p.rewritten ? ', read from its ONNX graph' : ''}.${p.notes.length ? ` Note: ${p.notes.join('; ')}.` : ''}`,
    );
    return p.id;
  };
  const editorOrThrow = (): vscode.TextEditor => {
    // From the walkthrough (a command link) no text editor is active: take the visible one beside it.
    const e = vscode.window.activeTextEditor ?? vscode.window.visibleTextEditors.find((v) => v.viewColumn !== undefined);
    if (!e) throw new Error('open a text editor (or a notebook cell) first; Attention Inspector works on the text in the active editor');
    return e;
  };
  const reg = (id: string, f: Handler): [string, Handler] => [
    id,
    async (...args: never[]) => {
      try {
        return await f(...args);
      } catch (e) {
        const m = message(e);
        log.error(`${id}: ${m}`);
        void vscode.window.showErrorMessage(`Attention Inspector: ${m}`, 'Show Log').then((p) => p && log.show());
        return undefined;
      }
    },
  ];

  const followCursor = (on: boolean) => {
    inspector.setFollowCursor(on);
    vscode.window.setStatusBarMessage(`Attention Inspector: follow cursor ${inspector.followCursor ? 'on' : 'off'}`, 3000);
    return inspector.followCursor;
  };
  const compare = async (on: boolean) => {
    await inspector.setCompare(on);
    if (inspector.compare) await vscode.commands.executeCommand('attentionInspector.panel.focus');
    return inspector.compare;
  };

  return [
    reg('attentionInspector.analyzeDocument', () => inspector.analyze(editorOrThrow())),
    reg('attentionInspector.analyzeSelection', () => {
      const e = editorOrThrow();
      if (e.selection.isEmpty) throw new Error('select the text to analyze first, or run Analyze Document');
      return inspector.analyze(e, new vscode.Range(e.selection.start, e.selection.end));
    }),
    reg('attentionInspector.toggleFollowCursor', (on?: boolean) => followCursor(typeof on === 'boolean' ? on : !inspector.followCursor)),
    // The palette and the panel's menu show the one of these that changes the state (context key attentionInspector.followCursor).
    reg('attentionInspector.followCursorOn', () => followCursor(true)),
    reg('attentionInspector.followCursorOff', () => followCursor(false)),
    reg('attentionInspector.chooseHead', async (arg?: HeadSelection) => {
      if (arg) return inspector.setSelection(arg);
      const s = inspector.current?.runs.get(inspector.model);
      const layers = s?.layers ?? 4;
      const heads = s?.heads ?? (inspector.model === 'twin-diff' ? 2 : 4);
      type Item = vscode.QuickPickItem & { sel?: HeadSelection };
      const items: Item[] = [
        { label: 'All layers', kind: vscode.QuickPickItemKind.Separator },
        { label: 'All layers · mean over heads', sel: { layer: 'all', head: 'mean' } },
        { label: 'All layers · max |a| over heads', description: 'the weight of largest magnitude, with its sign', sel: { layer: 'all', head: 'maxAbs' } },
      ];
      for (let l = 0; l < layers; l++) {
        items.push({ label: `Layer ${l}`, kind: vscode.QuickPickItemKind.Separator });
        items.push({ label: `Layer ${l} · mean over heads`, sel: { layer: l, head: 'mean' } });
        items.push({ label: `Layer ${l} · max |a| over heads`, sel: { layer: l, head: 'maxAbs' } });
        for (let h = 0; h < heads; h++) items.push({ label: `Layer ${l} · head ${h}`, sel: { layer: l, head: h } });
      }
      const cur = inspector.selection;
      const pick = await vscode.window.showQuickPick(items, {
        title: `Attention Inspector: layer and head (${inspector.model})`,
        placeHolder: 'Choose the heads the highlights show',
        activeItem: items.find((i) => i.sel && i.sel.layer === cur.layer && i.sel.head === cur.head),
      } as vscode.QuickPickOptions);
      if (pick?.sel) inspector.setSelection(pick.sel);
    }),
    reg('attentionInspector.chooseView', async (arg?: ViewId) => {
      if (arg !== undefined) {
        if (!isViewId(arg)) throw new Error(`unknown view "${String(arg)}"`);
        return inspector.setView(arg);
      }
      const m = (await models.load(inspector.model)).pkg.manifest;
      const diff = m.attention !== 'softmax';
      const norms = !!m.outputs.valueNorm;
      const probs = panel.modelLoad(inspector.model)?.readFrom === 'probs';
      const items = VIEWS.map((v) => ({
        label: v.label,
        description: v.id === inspector.view ? 'current' : undefined,
        detail: v.detail + (!v.softmax && !diff ? ' — DIFF models only' : '') + (v.id === 'valueWeighted' && !norms ? ' — needs value norms, which this model does not output' : '') + (v.whatIf && probs ? ' — needs the attention logits: unavailable for this model (read from its softmax outputs)' : ''),
        id: v.id,
      }));
      const pick = await vscode.window.showQuickPick(items, { title: 'Attention Inspector: view', placeHolder: 'Choose what the highlights show', matchOnDetail: true });
      if (pick) inspector.setView(pick.id);
    }),
    reg('attentionInspector.chooseDirection', async (arg?: Direction) => {
      if (arg === 'attendsTo' || arg === 'attendedBy') return inspector.setDirection(arg);
      const items: (vscode.QuickPickItem & { d: Direction })[] = [
        { label: 'Attends to', detail: 'tint the tokens the focused token takes weight from (its row)', d: 'attendsTo' },
        { label: 'Attended by', detail: 'tint the tokens that give weight to the focused token (its column)', d: 'attendedBy' },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'Attention Inspector: direction' });
      if (pick) inspector.setDirection(pick.d);
    }),
    reg('attentionInspector.chooseAggregation', async (arg?: Aggregation) => {
      if (arg === 'token' || arg === 'word' || arg === 'line') return inspector.setAggregation(arg);
      const items: (vscode.QuickPickItem & { a: Aggregation })[] = [
        { label: 'Tokens', detail: 'one tint per token', a: 'token' },
        { label: 'Words', detail: "sum of the word's tokens' weights", a: 'word' },
        { label: 'Lines', detail: "sum of the line's tokens' weights", a: 'line' },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'Attention Inspector: aggregate highlights by' });
      if (pick) inspector.setAggregation(pick.a);
    }),
    reg('attentionInspector.compareWithTwin', (on?: boolean) => compare(typeof on === 'boolean' ? on : !inspector.compare)),
    reg('attentionInspector.compareWithTwinOn', () => compare(true)),
    reg('attentionInspector.compareWithTwinOff', () => compare(false)),
    reg('attentionInspector.openSample', async () => {
      // An untitled copy of the bundled sample: it can be edited, and nothing is written into the extension's folder.
      const uri = vscode.Uri.joinPath(extensionUri, 'samples', 'differential_attention.py');
      const content = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      const doc = await vscode.workspace.openTextDocument({ content, language: 'python' });
      // Beside the walkthrough, which stays readable; its next steps' command links act on this editor.
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
      return doc.uri;
    }),
    reg('attentionInspector.chooseModel', async (arg?: string | { folder: string }) => {
      if (arg && typeof arg === 'object' && typeof arg.folder === 'string') return openModel(arg.folder);
      if (typeof arg === 'string') {
        if (models.has(arg)) {
          await inspector.setModel(arg, vscode.window.activeTextEditor);
          return arg;
        }
        if (path.isAbsolute(arg)) return openModel(arg);
        throw new Error(`unknown model "${arg}": the bundled models are ${BUNDLED_MODELS.join(', ')}; give a model folder's absolute path to open your own`);
      }
      type Item = vscode.QuickPickItem & { m?: string };
      const items: Item[] = [
        ...BUNDLED_MODELS.map((m) => ({
          label: m,
          description: m === inspector.model ? 'current' : undefined,
          detail: m === 'twin-diff' ? 'bundled: differential attention (DIFF V1), 4 layers, 2 heads' : 'bundled: softmax twin, 4 layers, 4 heads, trained identically',
          m,
        })),
        ...models.userModels().map((u) => ({
          label: u.id,
          description: u.id === inspector.model ? 'current' : u.rewritten ? 'ONNX, rewritten' : 'model package',
          detail: `${u.pkg.manifest.attention}, ${u.pkg.manifest.layers} layers × ${u.pkg.manifest.heads} heads — ${u.source}`,
          m: u.id,
        })),
        { label: '', kind: vscode.QuickPickItemKind.Separator },
        { label: '$(folder-opened) Open Model Folder…', detail: 'a model package (manifest.json), or an ONNX language model folder (onnx/model.onnx, tokenizer.json, config.json)' },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'Attention Inspector: model', placeHolder: 'The bundled twins are compared with Compare With Twin' });
      if (!pick) return undefined;
      if (pick.m) {
        await inspector.setModel(pick.m, vscode.window.activeTextEditor);
        return pick.m;
      }
      const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Open Model', title: 'Attention Inspector: model folder' });
      return folder?.[0] ? openModel(folder[0].fsPath) : undefined;
    }),
    reg('attentionInspector.measureSelection', async () => {
      const r = await inspector.measureSelection(editorOrThrow());
      const f = (v: number) => v.toFixed(3);
      void vscode.commands.executeCommand('setContext', 'attentionInspector.measured', true); // the walkthrough's last step
      void vscode.commands.executeCommand('attentionInspector.panel.focus');
      void vscode.window.showInformationMessage(
        `Attention to the selection from token #${r.query}: ` +
          r.results.map((x) => `${x.model} ${f(x.selection)} (first token ${f(x.firstToken)}, rest ${f(x.rest)})`).join('; ') +
          ' — mean over heads and layers.',
      );
      return r;
    }),
    reg('attentionInspector.export', async (format?: ExportFormat, target?: vscode.Uri) => {
      if (!format) {
        const pick = await vscode.window.showQuickPick(
          [
            { label: 'PNG', detail: "the chosen model's heatmap as drawn in the panel", f: 'png' as const },
            { label: 'CSV', detail: "the focused token's rows: every layer, head and key", f: 'csv' as const },
            { label: 'JSON', detail: "the focused token's rows with tokens and λ", f: 'json' as const },
          ],
          { title: 'Attention Inspector: export' },
        );
        if (!pick) return undefined;
        format = pick.f;
      }
      const s = inspector.current;
      const base = s ? (s.doc.uri.path.split('/').pop() ?? 'attention').replace(/\.[^.]*$/, '') : 'attention';
      if (!target) {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const name = `${base}-attention.${format}`;
        target = await vscode.window.showSaveDialog({
          defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
          filters: { [format.toUpperCase()]: [format] },
          title: `Export ${format.toUpperCase()}`,
        });
        if (!target) return undefined;
      }
      let bytes: Uint8Array;
      if (format === 'png') {
        if (!s) throw new Error('nothing is analyzed: run Analyze Document first');
        const png = await panel.exportPng();
        bytes = Buffer.from(png.dataUrl.slice('data:image/png;base64,'.length), 'base64');
      } else {
        const { session, model, query, rows } = await inspector.exportRows();
        const labels = session.labels;
        const e: RowsExport = {
          model,
          source: session.doc.uri.toString(true),
          query: { index: query, text: labels[query] },
          lambdas: session.runs.get(model)?.lambdas ?? [],
          tokens: session.spans.map((sp, i) => ({ index: i, text: session.text.slice(sp.start, sp.end), start: session.start + sp.start, end: session.start + sp.end })),
          rows,
        };
        bytes = new TextEncoder().encode(format === 'csv' ? rowsToCsv(e) : rowsToJson(e));
      }
      await vscode.workspace.fs.writeFile(target, bytes);
      log.info(`exported ${format.toUpperCase()} to ${target.toString(true)} (${bytes.length} bytes)`);
      void vscode.window.showInformationMessage(`Attention Inspector: exported ${format.toUpperCase()} to ${target.fsPath || target.toString(true)}`);
      return target;
    }),
    reg('attentionInspector.clear', () => inspector.clear('cleared by the user')),
  ];
}

