import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../../src/extension';
import { api, notes, sleep, untitledEditor, until } from './harness';

const config = () => vscode.workspace.getConfiguration('attentionInspector');
const G = vscode.ConfigurationTarget.Global;


const fixture = (name: string) => vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, name);
async function open(name: string): Promise<vscode.TextEditor> {
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(fixture(name)));
}
const meanOf = (rows: Float32Array, layers: number, heads: number, T: number) => {
  const out = new Float64Array(T);
  for (let k = 0; k < layers * heads; k++) for (let j = 0; j < T; j++) out[j] += rows[k * T + j] / (layers * heads);
  return out;
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length, 'same length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
/** RFC 4180 CSV (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(s: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else cell += c;
  }
  if (cell || row.length) row.push(cell), rows.push(row);
  return rows;
}

/** Every decoration range, by level key. */
function allRanges(d: NonNullable<ReturnType<AttentionInspectorApi['inspector']['decorations']>>) {
  return Object.entries(d.ranges).flatMap(([k, rs]) => rs.map((r) => ({ k, r })));
}

suite('Editor inspector: analyze, hover, highlights (bundled twins, real engine)', () => {
  suiteSetup(async () => {
    await config().update('backend', 'wasm', G);
    await config().update('followCursor', false, G);
  });
  suiteTeardown(async () => {
    for (const k of ['backend', 'followCursor', 'maxTokens', 'aggregation']) await config().update(k, undefined, G);
    await vscode.commands.executeCommand('attentionInspector.clear');
  });
  setup(async () => {
    const a = await api();
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 'all', head: 'mean' });
    await vscode.commands.executeCommand('attentionInspector.chooseView', 'model');
    await vscode.commands.executeCommand('attentionInspector.chooseDirection', 'attendsTo');
    await vscode.commands.executeCommand('attentionInspector.chooseAggregation', 'token');
    await vscode.commands.executeCommand('attentionInspector.compareWithTwin', false);
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-diff');
    assert.equal(a.inspector.snapshot().model, 'twin-diff');
  });

  test('Analyze Document, then focusing a token tints the others by the mean row the engine computed, signed, with the token outlined', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await vscode.commands.executeCommand('attentionInspector.analyzeDocument');
    const snap = a.inspector.snapshot();
    assert.ok(snap.session && snap.session.tokens > 100, 'analyzed');
    assert.deepEqual(snap.session.models, ['twin-diff']);
    const off = ed.document.getText().indexOf('weights = softmax');
    const w = await a.inspector.focusOffset(off);
    assert.ok(w, 'weights painted');
    const toks = a.inspector.tokens();
    const t = toks.findIndex(([s, e]) => s <= off && off < e);
    const rows = await a.rows(t);
    assert.ok(maxDiff(w, meanOf(rows.a, rows.layers, rows.heads, rows.tokens)) < 1e-6, 'the tints are the mean of the engine rows');
    const d = a.inspector.decorations();
    assert.ok(d, 'decorations applied');
    assert.equal(d.uri, ed.document.uri.toString());
    assert.deepEqual(d.ranges.focus, [toks[t]], 'the focused token is outlined');
    assert.ok(d.ranges.ruler.length > 0 && d.ranges.ruler.length <= 10, 'overview ruler marks the strongest');
    let strongest = -1;
    for (let j = 0; j < w.length; j++) if (j !== t && (strongest < 0 || Math.abs(w[j]) > Math.abs(w[strongest]))) strongest = j;
    const top = w[strongest] > 0 ? '+7' : '-7';
    assert.ok(d.ranges[top]?.some(([s, e]) => s === toks[strongest][0] && e === toks[strongest][1]), `the strongest target is at level ${top}`);
    for (const { k, r } of allRanges(d)) {
      if (k === 'focus' || k === 'ruler') continue;
      const j = toks.findIndex(([s, e]) => s === r[0] && e === r[1]);
      assert.ok(j >= 0, `range ${r} is a token`);
      assert.equal(Math.sign(w[j]), k.startsWith('+') ? 1 : -1, `sign of token ${j} matches level ${k}`);
    }
    assert.ok(allRanges(d).some(({ k }) => k.startsWith('-')), 'DIFF rows have negative weights, tinted cool');
  });

  test('tokens inside emoji and on CRLF lines get exact ranges that never split a character or a line break', async () => {
    const a = await api();
    const ed = await open('emoji_crlf.txt');
    const doc = ed.document;
    assert.equal(doc.eol, vscode.EndOfLine.CRLF);
    await a.inspector.analyze(ed);
    const text = doc.getText();
    const toks = a.inspector.tokens();
    assert.equal(toks[0][0], 0);
    assert.equal(toks.at(-1)![1], text.length);
    for (let i = 1; i < toks.length; i++) assert.equal(toks[i][0], toks[i - 1][1], 'tokens tile the text');
    for (const [s, e] of toks) {
      for (const o of [s, e]) {
        const lowSurrogate = /[\uDC00-\uDFFF]/.test(text[o] ?? '') && /[\uD800-\uDBFF]/.test(text[o - 1] ?? '');
        assert.ok(!lowSurrogate, `offset ${o} does not split a surrogate pair`);
        // The tokenizer may split \r from \n (they are different bytes); then the editor maps the offset between them to
        // the line's end, and the two tokens' ranges still cover the break without overlapping anything else.
        if (doc.offsetAt(doc.positionAt(o)) !== o) assert.equal(text.slice(o - 1, o + 1), '\r\n', `offset ${o} is a real position`);
      }
    }
    const emoji = text.indexOf('\u{1FAE5}');
    await a.inspector.focusOffset(emoji);
    const focus = a.inspector.decorations()!.ranges.focus[0];
    assert.ok(text.slice(focus[0], focus[1]).includes('\u{1FAE5}'), 'the emoji is inside the focused token, whole');
    const line3 = text.indexOf('plain ascii');
    await a.inspector.focusOffset(line3 + 7);
    const f3 = a.inspector.decorations()!.ranges.focus[0];
    assert.equal(doc.positionAt(f3[1]).line, 2, 'the focused token sits on the CRLF line it came from');
    for (const { r } of allRanges(a.inspector.decorations()!)) assert.ok(r[1] > r[0]);
  });

  test('choosing a head (its command) changes the highlights to that head of the engine rows', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await a.inspector.analyze(ed);
    const off = ed.document.getText().indexOf('return [e');
    const before = await a.inspector.focusOffset(off);
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 1, head: 0 });
    const after = await a.inspector.focusOffset(off);
    assert.ok(before && after);
    const t = a.inspector.snapshot().focus!;
    const rows = await a.rows(t);
    const T = rows.tokens;
    assert.ok(maxDiff(after, rows.a.subarray((1 * rows.heads + 0) * T, (1 * rows.heads + 1) * T)) < 1e-7);
    assert.ok(maxDiff(before, after) > 1e-3, 'the highlights changed');
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 3, head: 'maxAbs' });
    const mx = (await a.inspector.focusOffset(off))!;
    for (let j = 0; j < T; j++) {
      const h0 = rows.a[(3 * rows.heads) * T + j];
      const h1 = rows.a[(3 * rows.heads + 1) * T + j];
      assert.equal(mx[j], Math.abs(h0) >= Math.abs(h1) ? h0 : h1);
    }
  });

  test('every view paints; what-if views equal the engine, A1/λ·A2 split the row, softmax-only views are refused for the softmax twin', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await a.inspector.analyze(ed);
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 2, head: 1 });
    const off = ed.document.getText().indexOf('total = sum');
    const views = ['model', 'a1', 'lambdaA2', 'whatIf:rectified', 'whatIf:heaviside', 'whatIf:softpick', 'whatIf:shift', 'whatIf:softmaxPlusOne', 'whatIf:sigmoid', 'whatIf:cog', 'valueWeighted', 'rollout:abs', 'rollout:positive', 'surprisal'];
    const got: Record<string, Float32Array> = {};
    for (const v of views) {
      await vscode.commands.executeCommand('attentionInspector.chooseView', v);
      const w = await a.inspector.focusOffset(off);
      assert.ok(w && w.length === a.inspector.snapshot().session!.tokens, `view ${v} painted`);
      got[v] = w;
      assert.ok(a.inspector.decorations(), `view ${v} decorated`);
    }
    const t = a.inspector.tokens().findIndex(([s, e]) => s <= off && off < e);
    const T = got.model.length;
    const wi = await a.query({ kind: 'whatIf', layer: 2, head: 1, query: t });
    ['diff', 'rectified', 'heaviside', 'softpick', 'shift', 'softmaxPlusOne', 'sigmoid', 'cog'].forEach((id, i) => {
      if (i === 0) return;
      assert.ok(maxDiff(got[`whatIf:${id}`], wi.data.subarray(i * T, (i + 1) * T)) < 1e-7, id);
    });
    for (let j = 0; j < T; j++) assert.ok(Math.abs(got.a1[j] - got.lambdaA2[j] - got.model[j]) < 1e-6, 'A1 − λ·A2 = A');
    assert.ok(got['whatIf:rectified'].every((v) => v >= 0), 'rectified has no negative weights');
    const sp = await a.query({ kind: 'surprisal' });
    assert.ok(maxDiff(got.surprisal.subarray(1), sp.data.subarray(1)) < 1e-6);
    assert.equal(a.inspector.decorations()!.ranges.focus, undefined, 'surprisal needs no focused token');
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-softmax');
    await vscode.commands.executeCommand('attentionInspector.chooseView', 'a1');
    const s = a.inspector.snapshot();
    assert.equal(s.model, 'twin-softmax');
    await assert.rejects(a.inspector.hoverText(3), /exists only for DIFF models/);
  });

  test('"attended by" tints with the column of the focused token; views without columns say so', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await a.inspector.analyze(ed);
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 1, head: 1 });
    await vscode.commands.executeCommand('attentionInspector.chooseDirection', 'attendedBy');
    const off = ed.document.getText().indexOf('def softmax');
    const w = await a.inspector.focusOffset(off);
    const t = a.inspector.snapshot().focus!;
    const cols = await a.query({ kind: 'columns', layer: 1, key: t });
    const T = cols.dims[1];
    assert.ok(w && maxDiff(w, cols.data.subarray(T, 2 * T)) < 1e-7);
    for (let i = 0; i < t; i++) assert.equal(w[i], 0, 'earlier tokens cannot attend to a later one');
    await vscode.commands.executeCommand('attentionInspector.chooseView', 'valueWeighted');
    await assert.rejects(a.inspector.hoverText(t), /attended by" is available for the view A1 − λ·A2/);
  });

  test('word and line aggregation tint whole words and one range per line, with summed weights', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    const doc = ed.document;
    const text = doc.getText();
    await a.inspector.analyze(ed);
    const off = text.indexOf('weights = softmax');
    const tokW = (await a.inspector.focusOffset(off))!;
    await vscode.commands.executeCommand('attentionInspector.chooseAggregation', 'word');
    await a.inspector.focusOffset(off);
    const isWord = (c: string | undefined) => !!c && /[\p{L}\p{N}_]/u.test(c);
    const words = allRanges(a.inspector.decorations()!).filter(({ k }) => k !== 'focus' && k !== 'ruler');
    for (const { r } of words) assert.ok(!(isWord(text[r[0] - 1]) && isWord(text[r[0]])) && !(isWord(text[r[1] - 1]) && isWord(text[r[1]])), `range ${JSON.stringify(text.slice(r[0], r[1]))} does not split a word`);
    await vscode.commands.executeCommand('attentionInspector.chooseAggregation', 'line');
    await a.inspector.focusOffset(off);
    const lines = allRanges(a.inspector.decorations()!).filter(({ k }) => k !== 'focus' && k !== 'ruler');
    const lineOf = (r: [number, number]) => doc.positionAt(r[1] - 1).line;
    assert.equal(new Set(lines.map(({ r }) => lineOf(r))).size, lines.length, 'one range per line');
    // The line holding "return [e / total" gets the sum of its tokens' weights: same sign as that sum.
    const toks = a.inspector.tokens();
    const target = lines.find(({ r }) => text.slice(r[0], r[1]).includes('return [e / total'));
    if (target) {
      let sum = 0;
      toks.forEach(([s, e], j) => {
        if (s >= target.r[0] && e <= target.r[1]) sum += tokW[j];
      });
      assert.equal(Math.sign(sum), target.k.startsWith('+') ? 1 : -1);
    }
  });

  test('Compare With Twin runs the softmax twin on the same tokens, and the hover card shows A1, λ·A2, λ and the twin', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await a.inspector.analyze(ed);
    await vscode.commands.executeCommand('attentionInspector.compareWithTwin', true);
    assert.deepEqual(a.inspector.snapshot().session!.models.sort(), ['twin-diff', 'twin-softmax']);
    const md = await a.inspector.hoverText(40);
    assert.match(md, /twin-diff/);
    assert.match(md, /\| # \| token \| weight \| A1 \| λ·A2 \| twin-softmax \|/);
    assert.match(md, /λ = -?\d\.\d+, -?\d\.\d+, -?\d\.\d+, -?\d\.\d+/);
    const softRows = await a.rows(40, 'twin-softmax');
    assert.equal(softRows.heads, 4);
  });

  test('Open Explorer opens one explorer beside the editor, and the hover card links to it; a second run reveals the same one', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await a.inspector.analyze(ed);
    const explorers = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('attentionInspector.explorer'));
    await vscode.commands.executeCommand('attentionInspector.openExplorer');
    await until(() => explorers().length === 1, 20_000, 'the explorer tab');
    assert.equal(a.explorer.visible(), true);
    const tab = explorers()[0];
    assert.notEqual(tab.group.viewColumn, vscode.window.tabGroups.all.find((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === ed.document.uri.toString()))?.viewColumn, 'beside the text, not over it');
    assert.equal(tab.label, 'Attention Explorer');
    await vscode.commands.executeCommand('attentionInspector.openExplorer');
    await sleep(300);
    assert.equal(explorers().length, 1, 'one explorer');
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', ed.document.uri, ed.document.positionAt(40));
    const card = hovers.flatMap((h) => h.contents.map((c) => (c instanceof vscode.MarkdownString ? c.value : String(c)))).join('\n');
    assert.match(card, /\[Open Explorer\]\(command:attentionInspector\.openExplorer /);
    await vscode.window.tabGroups.close(explorers());
    assert.equal(a.explorer.visible(), false);
  });

  test('Measure Attention To Selection returns the engine’s masses for both twins', async () => {
    const a = await api();
    const ed = await open('retrieval.txt');
    const doc = ed.document;
    const text = doc.getText();
    await a.inspector.analyze(ed);
    const s0 = text.indexOf('quartz-8812');
    ed.selection = new vscode.Selection(doc.positionAt(s0), doc.positionAt(s0 + 'quartz-8812'.length));
    const r = await vscode.commands.executeCommand<{ query: number; span: [number, number]; results: { model: string; selection: number; firstToken: number; rest: number }[] }>('attentionInspector.measureSelection');
    assert.ok(r, 'a report');
    const toks = a.inspector.tokens();
    assert.equal(r.query, toks.length - 1, 'the last token asks');
    const span = toks.map(([s, e], j) => (s < s0 + 11 && e > s0 ? j : -1)).filter((j) => j >= 0);
    assert.deepEqual(r.span, [span[0], span.at(-1)! + 1]);
    assert.deepEqual(r.results.map((x) => x.model), ['twin-diff', 'twin-softmax']);
    for (const res of r.results) {
      const rows = await a.rows(r.query, res.model as 'twin-diff');
      const T = rows.tokens;
      let sel = 0, first = 0;
      for (let k = 0; k < rows.layers * rows.heads; k++) {
        const row = rows.a.subarray(k * T, (k + 1) * T);
        const total = row.reduce((x, y) => x + y, 0);
        sel += span.reduce((x, j) => x + row[j], 0) / total;
        first += row[0] / total;
      }
      const n = rows.layers * rows.heads;
      assert.ok(Math.abs(res.selection - sel / n) < 1e-5, `${res.model} selection mass`);
      assert.ok(Math.abs(res.firstToken - first / n) < 1e-5, `${res.model} first-token mass`);
      assert.ok(Math.abs(res.selection + res.firstToken + res.rest - 1) < 1e-5);
    }
  });

  test('the long-range sample (npm start): Measure Attention To Selection on a fact\'s value, asked where the question ends, gives both twins\' masses (the README\'s numbers)', async function () {
    const a = await api();
    const ext = vscode.extensions.all.find((e) => e.packageJSON?.name === 'attention-inspector')!;
    const ed = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.joinPath(ext.extensionUri, 'samples', 'long_range.py')));
    const doc = ed.document;
    const text = doc.getText();
    await a.inspector.analyze(ed);
    const value = text.indexOf('55203');
    const cue = text.indexOf('It is 55203') + 'It i'.length;
    // The selection is the fact's value near the top; a second cursor inside " is" of "It is" (the token that
    // predicts the answer) is the query.
    ed.selections = [new vscode.Selection(doc.positionAt(value), doc.positionAt(value + 5)), new vscode.Selection(doc.positionAt(cue), doc.positionAt(cue))];
    const r = await vscode.commands.executeCommand<{ query: number; span: [number, number]; results: { model: string; selection: number; firstToken: number; rest: number }[] }>('attentionInspector.measureSelection');
    assert.ok(r);
    const even = (r.span[1] - r.span[0]) / (r.query + 1);
    const line = r.results.map((x) => `${x.model}: selection ${x.selection.toFixed(3)}, first token ${x.firstToken.toFixed(3)}, rest ${x.rest.toFixed(3)}`).join('; ');
    notes.set(this.test!.title, `query #${r.query}, span ${r.span.join('–')}, an even spread ${even.toFixed(4)}: ${line}`);
    assert.deepEqual(r.results.map((x) => x.model), ['twin-diff', 'twin-softmax']);
    assert.ok(r.query > r.span[1] + 200, 'the question is far below the fact');
    // Each result splits the query row (divided by its sum) into the selection, the first token and the rest.
    for (const x of r.results) assert.ok(Math.abs(x.selection + x.firstToken + x.rest - 1) < 1e-4, `${x.model}: ${line}`);
    // The softmax twin's heads together put several times an even share on the value (twin-diff's mean mixes signs:
    // its layer with λ near 1 divides rows summing to about 0.02).
    assert.ok(r.results[1].selection > 3 * even, line);
  });

  test('Export writes a PNG of the heatmap and CSV / JSON of the focused token’s rows', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await a.inspector.analyze(ed);
    await vscode.commands.executeCommand('attentionInspector.showPanel');
    await a.inspector.focusOffset(ed.document.getText().indexOf('scores = ['));
    const q = a.inspector.snapshot().focus!;
    const dir = mkdtempSync(join(tmpdir(), 'attn-export-'));
    const png = vscode.Uri.file(join(dir, 'map.png'));
    await sleep(1500); // the panel draws its heatmap after the analysis
    assert.ok(await vscode.commands.executeCommand('attentionInspector.export', 'png', png));
    const bytes = readFileSync(png.fsPath);
    assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
    assert.ok(bytes.readUInt32BE(16) > 0 && bytes.readUInt32BE(20) > 0, 'PNG has a size');
    const csv = vscode.Uri.file(join(dir, 'rows.csv'));
    await vscode.commands.executeCommand('attentionInspector.export', 'csv', csv);
    const lines = parseCsv(readFileSync(csv.fsPath, 'utf8')).map((r) => r.join(','));
    assert.equal(lines[0], 'model,layer,head,query,key,key_text,a,a1,lambda_a2,lambda');
    assert.equal(lines.length, 1 + 4 * 2 * (q + 1));
    const rows = await a.rows(q);
    const l2h1 = parseCsv(readFileSync(csv.fsPath, 'utf8')).find((r) => r.slice(0, 5).join(',') === `twin-diff,2,1,${q},0`)!;
    assert.ok(Math.abs(Number(l2h1[6]) - rows.a[(2 * 2 + 1) * rows.tokens]) < 1e-7);
    const json = vscode.Uri.file(join(dir, 'rows.json'));
    await vscode.commands.executeCommand('attentionInspector.export', 'json', json);
    const j = JSON.parse(readFileSync(json.fsPath, 'utf8'));
    assert.equal(j.query.index, q);
    assert.equal(j.layers.length, 4);
    assert.equal(j.layers[3].heads[1].a.length, q + 1);
    assert.ok(Math.abs(j.layers[3].heads[1].a[0] - rows.a[(3 * 2 + 1) * rows.tokens]) < 1e-7);
  });

  test('an edit clears the highlights at once; with Follow Cursor on, the text is analyzed again after a pause', async () => {
    const a = await api();
    const dir = mkdtempSync(join(tmpdir(), 'attn-edit-'));
    writeFileSync(join(dir, 'edit.py'), readFileSync(fixture('inspect.py').fsPath));
    const ed = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(join(dir, 'edit.py')));
    await a.inspector.analyze(ed);
    await a.inspector.focusOffset(30);
    assert.ok(a.inspector.decorations());
    await ed.edit((e) => e.insert(new vscode.Position(0, 0), '# edited\n'));
    assert.equal(a.inspector.decorations(), undefined, 'stale highlights are gone at once');
    assert.equal(a.inspector.snapshot().session!.stale, true);
    assert.equal(await a.inspector.focusOffset(30), undefined, 'a stale analysis paints nothing');
    await vscode.commands.executeCommand('attentionInspector.toggleFollowCursor', true);
    await config().update('reanalyzeDelayMs', 200, G);
    try {
      await ed.edit((e) => e.insert(new vscode.Position(0, 0), '# again\n'));
      await until(() => { const s = a.inspector.snapshot().session; return s && !s.stale && s.version === ed.document.version; }, 60_000, 're-analysis');
      ed.selection = new vscode.Selection(new vscode.Position(3, 2), new vscode.Position(3, 2));
      await until(() => a.inspector.decorations()?.ranges.focus, 20_000, 'cursor highlights');
    } finally {
      await vscode.commands.executeCommand('attentionInspector.toggleFollowCursor', false);
      await config().update('reanalyzeDelayMs', undefined, G);
    }
  });
});

suite('Editor inspector: bad input', () => {
  suiteSetup(async () => {
    await config().update('backend', 'wasm', G);
    await config().update('followCursor', false, G);
  });
  suiteTeardown(async () => {
    for (const k of ['backend', 'followCursor', 'maxTokens']) await config().update(k, undefined, G);
  });
  const untitled = (content: string) => untitledEditor(content);

  test('an empty document and a binary file are refused with a message that says why', async () => {
    const a = await api();
    await assert.rejects(a.inspector.analyze(await untitled('')), /the document is empty/);
    await assert.rejects(a.inspector.analyze(await untitled('  \n\t\n')), /the document is empty/);
    const binary = Array.from({ length: 4000 }, (_, i) => (i % 3 === 0 ? '\0' : String.fromCharCode(0x41 + (i % 26)))).join('');
    await assert.rejects(a.inspector.analyze(await untitled(binary)), /looks like a binary file/);
  });

  test('NUL characters and lone surrogates in text are analyzed, and the tokens still tile the text', async () => {
    const a = await api();
    const ed = await untitled('a\0b = 1\nname = "\uD800x\uDC00"\nok\0\n');
    await a.inspector.analyze(ed);
    const toks = a.inspector.tokens();
    assert.equal(toks.at(-1)![1], ed.document.getText().length);
    for (let i = 1; i < toks.length; i++) assert.equal(toks[i][0], toks[i - 1][1]);
    assert.ok(await a.inspector.focusOffset(ed.document.getText().length - 2));
  });

  test('a 1 MB single-line minified file is analyzed in a window around the cursor, and the lines covered are reported', async () => {
    const a = await api();
    await config().update('maxTokens', 256, G);
    const dir = mkdtempSync(join(tmpdir(), 'attn-min-'));
    const chunk = 'function f(a,b){return a.map(function(x){return x*b+1})}var q=f([1,2,3],4);';
    writeFileSync(join(dir, 'big.min.js'), chunk.repeat(Math.ceil(1_048_576 / chunk.length)));
    const ed = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(join(dir, 'big.min.js')));
    const mid = Math.floor(ed.document.getText().length / 2);
    ed.selection = new vscode.Selection(ed.document.positionAt(mid), ed.document.positionAt(mid));
    const t0 = Date.now();
    await a.inspector.analyze(ed);
    const s = a.inspector.snapshot().session!;
    assert.ok(s.tokens <= 256 && s.tokens > 100, `${s.tokens} tokens`);
    assert.ok(s.start < mid && mid <= s.end, 'the window holds the cursor');
    assert.deepEqual(s.lines, { first: 1, last: 1, total: 1 });
    assert.ok(await a.inspector.focusOffset(mid));
    assert.ok(Date.now() - t0 < 60_000);
  });

  test('untitled, read-only and notebook-cell documents are analyzed', async () => {
    const a = await api();
    await a.inspector.analyze(await untitled('print("hello from an untitled file")\n'));
    assert.equal(a.inspector.snapshot().session!.uri.startsWith('untitled:'), true);
    const scheme = 'attn-readonly';
    const reg = vscode.workspace.registerTextDocumentContentProvider(scheme, { provideTextDocumentContent: () => 'def read_only():\n    return 42\n' });
    try {
      const ro = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.parse(`${scheme}:/ro.py`)));
      await a.inspector.analyze(ro);
      assert.equal(a.inspector.snapshot().session!.uri, `${scheme}:/ro.py`);
      assert.ok(await a.inspector.focusOffset(10));
    } finally {
      reg.dispose();
    }
    const nb = await vscode.workspace.openNotebookDocument('jupyter-notebook', new vscode.NotebookData([new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'import math\nprint(math.pi)\n', 'python')]));
    await vscode.window.showNotebookDocument(nb);
    const cell = await until(() => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'vscode-notebook-cell'), 20_000, 'the notebook cell editor');
    await a.inspector.analyze(cell);
    assert.equal(a.inspector.snapshot().session!.uri, cell.document.uri.toString());
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('a document closed mid-analysis leaves no session and no highlights', async () => {
    const a = await api();
    const ed = await untitled('x = [i * i for i in range(10)]\nprint(sum(x))\n'.repeat(20));
    const run = a.inspector.analyze(ed);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await until(() => ed.document.isClosed, 20_000, 'the document to close');
    const r = await run.catch((e: Error) => e);
    assert.ok(r === undefined || r instanceof Error, 'the analysis was dropped');
    assert.notEqual(a.inspector.snapshot().session?.uri, ed.document.uri.toString());
    assert.equal(a.inspector.decorations(), undefined);
  });

  test('a thousand hovers a second become a few requests, and the last hover wins', async () => {
    const a = await api();
    const ed = await open('inspect.py');
    await a.inspector.analyze(ed);
    const n = ed.document.getText().length;
    const t0 = Date.now();
    const all = Array.from({ length: 1000 }, (_, i) => a.inspector.focusOffset((i * 7919) % n));
    const results = await Promise.all(all);
    const painted = results.filter(Boolean).length;
    assert.ok(painted >= 1 && painted <= 10, `${painted} of 1000 hovers were painted`);
    assert.ok(results[999], 'the last hover is painted');
    const last = (999 * 7919) % n;
    const focus = a.inspector.decorations()!.ranges.focus[0];
    assert.ok(focus[0] <= last && last <= focus[1], 'the highlights are for the last hover');
    assert.ok(Date.now() - t0 < 20_000);
  });
});
