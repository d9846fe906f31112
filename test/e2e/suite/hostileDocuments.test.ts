/**
 * Hostile documents and editor events, in the real extension host with the real panel (wasm backend, bundled twins).
 * Every case must end in a clear message or a correct result, with: no unhandled rejection (listened for), no stale
 * tint (what is painted belongs to the current analysis of the current text), nothing written outside the
 * extension's storage, and no event-loop stall of the extension host over a bound (stallBound) while the inspector works.
 *
 * The stall bound (stallBound) is generous (the machine is shared and noisy); the honest figures, measured alone, are in BENCHMARKS.md
 * (bench/hostStall.mjs). The defects this suite was written for stalled the host 4.6–5.3 s.
 * The rows of test/e2e/hostile-documents.md are these cases, with the exact messages asserted here.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { TextTokenizer } from '../../../src/core/tokenizer';
import type { AttentionInspectorApi } from '../../../src/extension';
import { EXT_ID, api, sleep, untitledEditor, until } from './harness';

const config = () => vscode.workspace.getConfiguration('attentionInspector');
const G = vscode.ConfigurationTarget.Global;
/**
 * 250 ms on a quiet machine. This one is shared (2 cores, several agents): when the load average is above the core
 * count, the bound grows with it, up to 1,000 ms, still a fifth of the 4.6–5.3 s stalls this suite was written for.
 * The bound applied is in every failure message.
 */
const stallBound = () => Math.round(Math.min(1000, 250 * Math.max(1, loadavg()[0] / cpus().length)));


/** The longest event-loop delay of this thread (the extension host's) between start and stop, in ms. */
function stallProbe(): { stop(): number } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    stop() {
      h.disable();
      return h.max / 1e6;
    },
  };
}

// An independent tokenizer in the test (the extension tokenizes in its worker thread): offsets are checked against it.
const ws = () => vscode.workspace.workspaceFolders![0].uri;
let tokenizer: TextTokenizer | undefined;
function tok(): TextTokenizer {
  const ext = vscode.extensions.getExtension(EXT_ID)!;
  return (tokenizer ??= new TextTokenizer(JSON.parse(readFileSync(join(ext.extensionPath, 'media/models/twin-diff/tokenizer.json'), 'utf8'))));
}

/** The analyzed tokens are exactly the test tokenizer's tokens of the analyzed window of the document's text. */
function assertTokensMatch(a: AttentionInspectorApi, doc: vscode.TextDocument): void {
  const s = a.inspector.snapshot().session;
  assert.ok(s, 'a session');
  assert.equal(s.uri, doc.uri.toString());
  assert.equal(s.version, doc.version, 'the session is for the current text');
  const text = doc.getText();
  const want = tok().encode(text.slice(s.start, s.end)).spans.map((sp) => [s.start + sp.start, s.start + sp.end]);
  assert.deepEqual(a.inspector.tokens(), want, 'token offsets equal the text tokenized in the test');
  for (const [x, y] of a.inspector.tokens()) {
    for (const o of [x, y]) {
      assert.ok(!(/[\uDC00-\uDFFF]/.test(text[o] ?? '') && /[\uD800-\uDBFF]/.test(text[o - 1] ?? '')), `offset ${o} does not split a surrogate pair`);
    }
  }
}

/** What is painted belongs to the current, non-stale analysis of the document's current version, on its tokens. */
function assertNoStaleTint(a: AttentionInspectorApi, where: string): void {
  const d = a.inspector.decorations();
  if (!d) return;
  const s = a.inspector.snapshot().session;
  assert.ok(s && !s.stale, `${where}: tints are shown without a current analysis`);
  assert.equal(d.uri, s.uri, `${where}: tints are on the analyzed document`);
  const doc = vscode.workspace.textDocuments.find((x) => x.uri.toString() === s.uri);
  assert.ok(doc && !doc.isClosed, `${where}: the tinted document is open`);
  assert.equal(doc.version, s.version, `${where}: tints are for the text as it is now`);
  const toks = new Set(a.inspector.tokens().map(([x, y]) => `${x},${y}`));
  for (const [k, rs] of Object.entries(d.ranges)) for (const r of rs) assert.ok(toks.has(`${r[0]},${r[1]}`), `${where}: ${k} range ${r} is a token of the current analysis`);
}

/** After a case: no unhandled rejection happened, and no stale tint is left. */
const rejections: unknown[] = [];
const onRejection = (r: unknown) => rejections.push(r);

function listFiles(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const n of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, n.name);
    if (n.isDirectory()) listFiles(p, out);
    else {
      const st = statSync(p);
      out.set(p, `${st.size}:${st.mtimeMs}`);
    }
  }
  return out;
}

const untitled = untitledEditor;
const tmpFile = (name: string, content: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-hostile-'));
  writeFileSync(join(dir, name), content);
  return { dir, path: join(dir, name) };
};
const openPath = async (p: string) => vscode.window.showTextDocument(await vscode.workspace.openTextDocument(p));
const setCursor = (ed: vscode.TextEditor, off: number) => {
  const p = ed.document.positionAt(off);
  ed.selection = new vscode.Selection(p, p);
};
/** Runs `f` and returns its result together with the longest host stall meanwhile. */
async function measured<T>(f: () => Promise<T>): Promise<{ value: T; stallMs: number; ms: number }> {
  const p = stallProbe();
  const t0 = Date.now();
  const value = await f();
  const r = { value, stallMs: p.stop(), ms: Date.now() - t0 };
  log(`  longest host stall ${r.stallMs.toFixed(1)} ms in ${r.ms} ms`);
  return r;
}
/** Timings worth seeing in a run (ATTN_E2E_LOG: a file outside the workspace; the runner does not set it). */
const log = (line: string) => {
  if (process.env.ATTN_E2E_LOG) writeFileSync(process.env.ATTN_E2E_LOG, `${new Date().toISOString()} ${line}\n`, { flag: 'a' });
};
/**
 * Focuses the token at `off` and checks it is painted and outlined. The real workbench may send a hover of its own
 * meanwhile (the pointer rests over the editor), and the newest request wins: then focusing again is what a user
 * would do, up to three times.
 */
async function focus(a: AttentionInspectorApi, off: number): Promise<Float32Array> {
  for (let i = 0; ; i++) {
    const w = await a.inspector.focusOffset(off);
    if (w) {
      const f = a.inspector.decorations()?.ranges.focus?.[0];
      assert.ok(f && f[0] <= off && off <= f[1], `the token at ${off} is outlined`);
      return w;
    }
    if (i === 2) assert.fail(`focusing offset ${off} painted nothing three times (inspector: ${JSON.stringify(a.inspector.snapshot())})`);
    await a.inspector.settled();
  }
}
const closeAll = () => vscode.commands.executeCommand('workbench.action.closeAllEditors');

// A long Python-like text: inspect.py repeated (about 210 tokens per copy).
const pyText = (copies: number) => {
  const src = readFileSync(vscode.Uri.joinPath(ws(), 'inspect.py').fsPath, 'utf8');
  return src.repeat(copies);
};

suite('Editor inspector: hostile documents and events', () => {
  let before: Map<string, string>;
  let rejectionsAtStart = 0;

  suiteSetup(async () => {
    process.on('unhandledRejection', onRejection);
    before = listFiles(ws().fsPath);
    await config().update('backend', 'wasm', G);
    await config().update('followCursor', false, G);
    // The window these cases were written for (the default was 2,048 until chunked prefill raised it to 4,096).
    await config().update('maxTokens', 2048, G);
    const a = await api();
    await a.whenReady();
  });
  suiteTeardown(async () => {
    process.off('unhandledRejection', onRejection);
    for (const k of ['backend', 'followCursor', 'maxTokens', 'reanalyzeDelayMs', 'webviewTimeoutSeconds']) await config().update(k, undefined, G);
    await vscode.commands.executeCommand('attentionInspector.compareWithTwin', false);
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-diff');
    await vscode.commands.executeCommand('attentionInspector.clear');
    await closeAll();
  });
  setup(async function () {
    log(this.currentTest?.title ?? '');
    rejectionsAtStart = rejections.length;
    await vscode.commands.executeCommand('attentionInspector.chooseView', 'model');
    await vscode.commands.executeCommand('attentionInspector.chooseAggregation', 'token');
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 'all', head: 'mean' });
  });
  teardown(async function () {
    const a = await api();
    // Let late promises settle, then check what the case left behind.
    await a.inspector.settled();
    await sleep(50);
    assertNoStaleTint(a, 'after the case');
    const fresh = rejections.slice(rejectionsAtStart);
    assert.deepEqual(fresh.map((r) => (r instanceof Error ? r.stack ?? r.message : String(r))), [], 'no unhandled rejection');
    await vscode.commands.executeCommand('attentionInspector.clear');
    await closeAll();
  });

  // ------------------------------------------------------------------------------------------- refused documents

  test('hostile documents: an empty document is refused: "the document is empty: there is nothing to analyze"', async () => {
    const a = await api();
    await assert.rejects(a.inspector.analyze(await untitled('')), { message: 'the document is empty: there is nothing to analyze' });
    assert.equal(a.inspector.snapshot().session, undefined);
    assert.equal(a.inspector.decorations(), undefined);
  });

  test('hostile documents: a whitespace-only document (spaces, tabs, CRLF, NBSP, U+3000) is refused with the same message', async () => {
    const a = await api();
    await assert.rejects(a.inspector.analyze(await untitled('  \t\r\n\u00a0\u3000\n\n   ')), { message: 'the document is empty: there is nothing to analyze' });
    assert.equal(a.inspector.snapshot().session, undefined);
  });

  test('hostile documents: a binary file (a third NUL) is refused, naming the share of NULs', async () => {
    const a = await api();
    const binary = Array.from({ length: 4000 }, (_, i) => (i % 3 === 0 ? '\0' : String.fromCharCode(0x41 + (i % 26)))).join('');
    await assert.rejects(a.inspector.analyze(await untitled(binary)), {
      message: 'this looks like a binary file (33% NUL or undecodable characters); Attention Inspector analyses text',
    });
  });

  test('hostile documents: an empty selection is refused by Analyze Selection with its message, shown to the user', async () => {
    const a = await api();
    const ed = await untitled('x = 1\n');
    // Through the command: it catches the error and shows it; nothing is analyzed.
    await vscode.commands.executeCommand('attentionInspector.analyzeSelection');
    assert.equal(a.inspector.snapshot().session, undefined);
    await assert.rejects(a.inspector.analyze(ed, new vscode.Range(0, 1, 0, 1)), { message: 'the selection is empty: select some text, or run Analyze Document' });
  });

  // ------------------------------------------------------------------------------------------- strange text

  test('hostile documents: NUL characters inside text are analyzed, and offsets stay right', async () => {
    const a = await api();
    // 3 NULs in 96 characters: text with a few NULs, under the 10% that makes a file binary.
    const ed = await untitled('a\0b = 1  # first line of ordinary text\nname = "x\0y"  # a NUL in a string\nok\0 = True\n'.repeat(5));
    await a.inspector.analyze(ed);
    assertTokensMatch(a, ed.document);
    await focus(a, ed.document.getText().indexOf('name'));
    assertNoStaleTint(a, 'NULs');
  });

  test('hostile documents: lone surrogates (high and low, at line ends and at the end) are analyzed, tokens tile the text', async () => {
    const a = await api();
    const ed = await untitled('name = "\uD800x\uDC00"\nhigh \uD83D\nlow \uDE00 end\n\uDBFF');
    await a.inspector.analyze(ed);
    assertTokensMatch(a, ed.document);
    const toks = a.inspector.tokens();
    assert.equal(toks.at(-1)![1], ed.document.getText().length);
    await focus(a, ed.document.getText().indexOf('low'));
  });

  test('hostile documents: RTL text with bidi controls (Hebrew, Arabic, U+202E) gets exact ranges; focusing an Arabic word outlines it', async () => {
    const a = await api();
    const text = 'label = "שלום עולם"  # hello\nmsg = "مرحبا بالعالم"\nspoof = "\u202Eevil\u202C"\n';
    const ed = await untitled(text);
    await a.inspector.analyze(ed);
    assertTokensMatch(a, ed.document);
    const off = text.indexOf('بالعالم') + 2;
    await focus(a, off);
    const [fs, fe] = a.inspector.decorations()!.ranges.focus[0];
    assert.ok(fs <= off && off < fe, 'the focused token holds the offset');
  });

  test('hostile documents: emoji, ZWJ sequences, flags and skin tones are never split inside a surrogate pair', async () => {
    const a = await api();
    const text = 'family = "👩‍👩‍👧‍👦"  # ZWJ\nflags = "🇩🇪🇯🇵🏴󠁧󠁢󠁳󠁣󠁴󠁿"\nwave = "👋🏽" + "🫥"\ncombining = "e\u0301\u0302"\n';
    const ed = await untitled(text);
    await a.inspector.analyze(ed);
    assertTokensMatch(a, ed.document);
    const off = text.indexOf('🫥');
    await focus(a, off);
    const [fs, fe] = a.inspector.decorations()!.ranges.focus[0];
    assert.ok(text.slice(fs, fe).includes('🫥'), 'the emoji is inside the focused token, whole');
  });

  test('hostile documents: CRLF line ends: every token offset is a real editor position or between \\r and \\n', async () => {
    const a = await api();
    const { path } = tmpFile('crlf.py', 'def f(x):\r\n    return x + 1\r\n\r\nprint(f(2))\r\n'.repeat(10));
    const ed = await openPath(path);
    assert.equal(ed.document.eol, vscode.EndOfLine.CRLF);
    await a.inspector.analyze(ed);
    assertTokensMatch(a, ed.document);
    const text = ed.document.getText();
    for (const [s, e] of a.inspector.tokens()) for (const o of [s, e]) if (ed.document.offsetAt(ed.document.positionAt(o)) !== o) assert.equal(text.slice(o - 1, o + 1), '\r\n');
    await focus(a, text.indexOf('print'));
    assertNoStaleTint(a, 'CRLF');
  });

  test('hostile documents: a selection that starts and ends inside surrogate pairs is analyzed without splitting a character', async () => {
    const a = await api();
    const text = 'a = "🫥🫥🫥"\nb = "👩‍👧"\n';
    const ed = await untitled(text);
    const start = text.indexOf('🫥') + 1; // between the high and the low surrogate
    const end = text.indexOf('👩') + 1;
    await a.inspector.analyze(ed, new vscode.Range(ed.document.positionAt(start), ed.document.positionAt(end)));
    const s = a.inspector.snapshot().session!;
    const toks = a.inspector.tokens();
    assert.equal(toks[0][0], s.start);
    assert.equal(toks.at(-1)![1], s.end);
    for (let i = 1; i < toks.length; i++) assert.equal(toks[i][0], toks[i - 1][1], 'tokens tile the selection');
    await focus(a, s.start);
  });

  // ------------------------------------------------------------------------------------------- size

  test('hostile documents: a 1 MB single-line file (minified JS, opened as plain text) is analyzed in a 2048-token window around the cursor without stalling the host', async () => {
    const a = await api();
    const chunk = 'function f(a,b){return a.map(function(x){return x*b+1})}var q=f([1,2,3],4);';
    const content = chunk.repeat(Math.ceil(1_048_576 / chunk.length));
    if (process.env.ATTN_E2E_LOG) {
      // Control, logged only: the same text as a .js file, left alone for 8 s. VS Code's built-in JavaScript/TypeScript
      // features share this extension host and work on the file when it opens; that stall is not this extension's.
      const js = await openPath(tmpFile('big.min.js', content).path);
      const p = stallProbe();
      await sleep(8000);
      log(`  control: ${js.document.languageId} file open and idle for 8 s, longest host stall ${p.stop().toFixed(1)} ms`);
      await closeAll();
    }
    // Plain text: the stall measured is this extension's (a .js file also wakes VS Code's TypeScript features).
    const { path } = tmpFile('big.min.txt', content);
    const ed = await openPath(path);
    const mid = Math.floor(ed.document.getText().length / 2);
    setCursor(ed, mid);
    const { stallMs, ms } = await measured(async () => {
      await a.inspector.analyze(ed);
      return a.inspector.focusOffset(mid);
    });
    const s = a.inspector.snapshot().session!;
    assert.ok(s.tokens <= 2048 && s.tokens > 1000, `${s.tokens} tokens`);
    assert.ok(s.start < mid && mid <= s.end, 'the window holds the cursor');
    assert.deepEqual(s.lines, { first: 1, last: 1, total: 1 });
    assert.ok(a.inspector.decorations()?.ranges.focus, 'painted');
    assertTokensMatch(a, ed.document);
    assert.ok(stallMs < stallBound(), `bound ${stallBound()} ms (load ${loadavg()[0].toFixed(1)}): the host stalled ${stallMs.toFixed(0)} ms (analysis and paint took ${ms} ms)`);
  });

  test('hostile documents: a 200k-token file is analyzed around the cursor (tokenized off the host thread), offsets right at its end', async () => {
    const a = await api();
    const { path } = tmpFile('long.py', pyText(1000));
    const ed = await openPath(path);
    const n = ed.document.getText().length;
    const near = n - 5000;
    setCursor(ed, near);
    const { stallMs, ms } = await measured(async () => {
      await a.inspector.analyze(ed);
      return a.inspector.focusOffset(near);
    });
    const s = a.inspector.snapshot().session!;
    assert.ok(s.tokens <= 2048 && s.tokens > 1500, `${s.tokens} tokens`);
    assert.ok(s.start < near && near <= s.end);
    assert.ok(s.lines.total > 20_000 && s.lines.first > 19_000, `lines ${JSON.stringify(s.lines)}`);
    assertTokensMatch(a, ed.document);
    const [fs, fe] = a.inspector.decorations()!.ranges.focus[0];
    assert.ok(fs <= near && near <= fe, 'the cursor token is outlined where the cursor is');
    assert.ok(stallMs < stallBound(), `bound ${stallBound()} ms (load ${loadavg()[0].toFixed(1)}): the host stalled ${stallMs.toFixed(0)} ms (analysis and paint took ${ms} ms)`);
    // The API's whole-text tokenization also runs in the worker: a text over the context is refused, with no stall.
    const whole = await measured(() => a.analyzeText(ed.document.getText()).then(() => 'analyzed', (e: Error) => e.message));
    assert.match(whole.value, /^the text has \d+ tokens, more than twin-diff's maximum context of \d+; analyze a selection$/);
    assert.ok(whole.stallMs < stallBound(), `bound ${stallBound()} ms (load ${loadavg()[0].toFixed(1)}): analyzeText of 200k tokens stalled the host ${whole.stallMs.toFixed(0)} ms`);
  });

  // ------------------------------------------------------------------------------------------- kinds of document

  test('hostile documents: an untitled document is analyzed and painted', async () => {
    const a = await api();
    const ed = await untitled('print("hello from an untitled file")\n', 'python');
    await a.inspector.analyze(ed);
    assert.ok(a.inspector.snapshot().session!.uri.startsWith('untitled:'));
    assertTokensMatch(a, ed.document);
    await focus(a, 8);
  });

  test('hostile documents: a read-only document (a content provider) is analyzed and painted, and nothing is written to it', async () => {
    const a = await api();
    const scheme = 'attn-hostile-ro';
    const reg = vscode.workspace.registerTextDocumentContentProvider(scheme, { provideTextDocumentContent: () => 'def read_only():\n    return 42\n' });
    try {
      const ed = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(vscode.Uri.parse(`${scheme}:/ro.py`)));
      const v = ed.document.version;
      await a.inspector.analyze(ed);
      assert.equal(a.inspector.snapshot().session!.uri, `${scheme}:/ro.py`);
      await focus(a, 10);
      assert.equal(ed.document.version, v);
      assert.equal(ed.document.isDirty, false);
    } finally {
      reg.dispose();
    }
  });

  test('hostile documents: a notebook cell is analyzed and painted, and closing the notebook clears the analysis and its tints', async () => {
    const a = await api();
    const nb = await vscode.workspace.openNotebookDocument('jupyter-notebook', new vscode.NotebookData([new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'import math\nprint(math.pi)\n', 'python')]));
    await vscode.window.showNotebookDocument(nb);
    const cell = await until(() => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'vscode-notebook-cell'), 20_000, 'the notebook cell editor');
    await a.inspector.analyze(cell);
    assert.equal(a.inspector.snapshot().session!.uri, cell.document.uri.toString());
    assertTokensMatch(a, cell.document);
    await focus(a, 7);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await until(() => cell.document.isClosed, 20_000, 'the cell to close');
    await until(() => a.inspector.snapshot().session === undefined, 10_000, 'the session to clear');
    assert.equal(a.inspector.decorations(), undefined);
  });

  // ------------------------------------------------------------------------------------------- events during a run

  test('hostile documents: an edit during an analysis drops its result and the edited text is analyzed; no stale tint meanwhile', async () => {
    const a = await api();
    const { path } = tmpFile('edit.py', pyText(12));
    const ed = await openPath(path);
    // The edit must land while the model runs, not before the text is read nor after the result is back (a fixed
    // sleep raced both on a loaded machine): the test waits until the model pass has been sent to the panel, then
    // edits. The text is long (about 2,000 tokens, a pass of seconds here) so the edit's round trip lands well within it.
    const passes = a.inspector.snapshot().panelAnalyses;
    let answered = false;
    const run = a.inspector.analyze(ed).finally(() => (answered = true));
    for (const end = Date.now() + 60_000; a.inspector.snapshot().panelAnalyses === passes && !answered; ) {
      assert.ok(Date.now() < end, 'the model pass starts');
      await sleep(2);
    }
    await ed.edit((e) => e.insert(new vscode.Position(0, 0), '# edited while the model ran\n'));
    assert.equal(answered, false, 'the edit landed while the model ran (the setup of this test)');
    assertNoStaleTint(a, 'right after the edit');
    assert.equal(await run, undefined, 'the outdated result is not shown');
    // Even with Follow Cursor off, the text that changed under a running analysis is analyzed again.
    await until(() => { const s = a.inspector.snapshot().session; return s && !s.stale && s.version === ed.document.version; }, 60_000, 'the edited text to be analyzed');
    assertTokensMatch(a, ed.document);
    await focus(a, 5);
    assertNoStaleTint(a, 'after the reanalysis');
  });

  test('hostile documents: closing the document during an analysis leaves no session and no tint', async () => {
    const a = await api();
    const ed = await untitled(pyText(3));
    const run = a.inspector.analyze(ed);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await until(() => ed.document.isClosed, 20_000, 'the document to close');
    assert.equal(await run, undefined, 'the analysis was dropped');
    assert.notEqual(a.inspector.snapshot().session?.uri, ed.document.uri.toString());
    assert.equal(a.inspector.decorations(), undefined);
  });

  test('hostile documents: renaming the file during an analysis leaves no tint on the old name; the renamed file analyses', async () => {
    const a = await api();
    const { dir, path } = tmpFile('before.py', pyText(3));
    const ed = await openPath(path);
    const oldUri = ed.document.uri.toString();
    const run = a.inspector.analyze(ed).catch((e: Error) => e);
    const edit = new vscode.WorkspaceEdit();
    const newUri = vscode.Uri.file(join(dir, 'after.py'));
    edit.renameFile(ed.document.uri, newUri);
    assert.ok(await vscode.workspace.applyEdit(edit), 'renamed');
    await run;
    await sleep(200);
    const d = a.inspector.decorations();
    if (d) assert.notEqual(d.uri, oldUri, 'no tint on the old name');
    if (ed.document.isClosed) assert.notEqual(a.inspector.snapshot().session?.uri, oldUri, 'no session on the closed old document');
    const renamed = await until(() => vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === newUri.toString()), 10_000, 'the renamed editor');
    await a.inspector.analyze(renamed);
    assert.equal(a.inspector.snapshot().session!.uri, newUri.toString());
    assertTokensMatch(a, renamed.document);
    await focus(a, 3);
  });

  test('hostile documents: Analyze Document twenty times in a row: the panel runs at most a few, the last one is shown', async () => {
    const a = await api();
    const { path } = tmpFile('twenty.py', pyText(6));
    const ed = await openPath(path);
    const runsBefore = a.inspector.snapshot().panelAnalyses;
    const { value: results, stallMs } = await measured(() => Promise.all(Array.from({ length: 20 }, () => vscode.commands.executeCommand('attentionInspector.analyzeDocument'))));
    await a.inspector.settled();
    const runs = a.inspector.snapshot().panelAnalyses - runsBefore;
    assert.ok(runs >= 1 && runs <= 4, `the panel ran ${runs} analyses for 20 commands`);
    assert.ok(results.at(-1), 'the last command resolves with the analysis');
    assert.ok(results.filter(Boolean).length <= runs, 'superseded commands resolve with nothing');
    assertTokensMatch(a, ed.document);
    await focus(a, 100);
    assert.ok(stallMs < stallBound(), `bound ${stallBound()} ms (load ${loadavg()[0].toFixed(1)}): stalled ${stallMs.toFixed(0)} ms`);
  });

  test('hostile documents: the model switched during an analysis: the text is analyzed again with the new model, whose rows the tints show', async () => {
    const a = await api();
    const ed = await untitled(pyText(3));
    const run = a.inspector.analyze(ed);
    await sleep(30);
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-softmax');
    await run;
    await a.inspector.settled();
    const s = await until(() => a.inspector.snapshot().session, 60_000, 'a session');
    assert.equal(a.inspector.snapshot().model, 'twin-softmax');
    assert.deepEqual(s.models, ['twin-softmax'], 'the session is the new model’s');
    const off = ed.document.getText().indexOf('softmax');
    const w = await focus(a, off);
    assert.ok(w);
    const t = a.inspector.snapshot().focus!;
    const rows = await a.rows(t, 'twin-softmax');
    assert.equal(rows.heads, 4, 'softmax twin rows');
    const T = rows.tokens;
    for (let j = 0; j < T; j += 17) {
      let m = 0;
      for (let k = 0; k < rows.layers * rows.heads; k++) m += rows.a[k * T + j] / (rows.layers * rows.heads);
      assert.ok(Math.abs(m - w[j]) < 1e-6, `token ${j}: tint weight is the softmax twin's mean row`);
    }
    assert.ok(w.every((v) => v >= 0), 'softmax weights are not negative');
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-diff');
  });

  test('hostile documents: Compare With Twin turned on during an analysis: the shown session holds both twins', async () => {
    const a = await api();
    const ed = await untitled(pyText(2));
    const run = a.inspector.analyze(ed);
    await sleep(30);
    await vscode.commands.executeCommand('attentionInspector.compareWithTwin', true);
    await run;
    await a.inspector.settled();
    await until(() => a.inspector.snapshot().session?.models.length === 2, 60_000, 'both twins');
    assert.deepEqual(a.inspector.snapshot().session!.models, ['twin-diff', 'twin-softmax']);
    await focus(a, 40);
    await vscode.commands.executeCommand('attentionInspector.compareWithTwin', false);
  });

  test('hostile documents: a hover during an analysis answers (it waits for the analysis), and the tints are the new analysis\'s', async () => {
    const a = await api();
    const ed = await untitled(pyText(2));
    await a.inspector.analyze(ed);
    await a.inspector.focusOffset(50);
    const run = a.inspector.analyze(ed);
    const hover = vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', ed.document.uri, ed.document.positionAt(60));
    const s = await run;
    assert.ok(s, 'the second analysis is shown');
    const hovers = await hover;
    const text = hovers.flatMap((h) => h.contents.map((c) => (c instanceof vscode.MarkdownString ? c.value : String(c)))).join('\n');
    assert.match(text, /twin-diff/, 'the hover card shows');
    await focus(a, 60);
    assertNoStaleTint(a, 'after the hover');
    const [fs, fe] = a.inspector.decorations()!.ranges.focus[0];
    assert.ok(fs <= 60 && 60 <= fe);
  });

  test('hostile documents: the panel hidden during an analysis (another view shown): the analysis completes and paints', async () => {
    const a = await api();
    const ed = await untitled(pyText(2));
    const run = a.inspector.analyze(ed);
    await vscode.commands.executeCommand('workbench.view.explorer');
    const s = await run;
    assert.ok(s, 'a result, although the panel was hidden');
    await focus(a, 30);
    assertTokensMatch(a, ed.document);
    await vscode.commands.executeCommand('attentionInspector.showPanel');
  });

  test('hostile documents: the panel reloaded during an analysis: a clear message, then the next analysis works', async () => {
    const a = await api();
    const ed = await untitled(pyText(12));
    await vscode.commands.executeCommand('attentionInspector.showPanel');
    const caps = await a.whenReady();
    const run = a.inspector.analyze(ed);
    await sleep(20);
    await vscode.commands.executeCommand('workbench.action.webview.reloadWebviewAction');
    const r = await run.then(() => undefined, (e: Error) => e.message);
    // The reload may come after the answer on a fast machine; then the result stands.
    if (r !== undefined) assert.equal(r, 'the panel reloaded before it answered; run the command again.');
    else log(`panel reload: the analysis answered before the reload`);
    // The reloaded panel says it is ready again (new capabilities): requests sent before that are lost with it.
    await until(() => a.capabilities() !== caps, 60_000, 'the reloaded panel');
    await a.inspector.analyze(ed);
    await focus(a, 20);
    assertTokensMatch(a, ed.document);
  });

  test('hostile documents: the panel closed (disposed) during an analysis: a clear message, then the next analysis reopens it and works', async () => {
    const a = await api();
    const ed = await untitled(pyText(8));
    await vscode.commands.executeCommand('attentionInspector.showPanel');
    await a.whenReady();
    const run = a.inspector.analyze(ed);
    await sleep(100);
    await vscode.commands.executeCommand('attentionInspector.panel.removeView');
    const t0 = Date.now();
    const r = await run.then(() => undefined, (e: Error) => e.message);
    log(`panel closed: the analysis ended after ${Date.now() - t0} ms with ${r ?? 'a result'}`);
    if (r !== undefined) assert.equal(r, 'the Attention Inspector panel was closed before it answered; run the command again.');
    assert.equal(a.inspector.decorations(), undefined);
    await vscode.commands.executeCommand('workbench.action.resetViewLocations');
    const t1 = Date.now();
    await a.inspector.analyze(ed);
    log(`panel closed: the next analysis took ${Date.now() - t1} ms`);
    await focus(a, 20);
    assertTokensMatch(a, ed.document);
  });

  test('hostile documents: 1,000 hovers in one second: a few are painted, the last wins, the host does not stall', async () => {
    const a = await api();
    const { path } = tmpFile('hover.py', pyText(8));
    const ed = await openPath(path);
    await a.inspector.analyze(ed);
    const n = a.inspector.snapshot().session!.end;
    const all: Promise<Float32Array | undefined>[] = [];
    const { stallMs, ms } = await measured(async () => {
      for (let b = 0; b < 100; b++) {
        for (let i = 0; i < 10; i++) all.push(a.inspector.focusOffset(((b * 10 + i) * 7919) % n));
        await sleep(10);
      }
      return Promise.all(all);
    });
    const results = await Promise.all(all);
    const painted = results.filter(Boolean).length;
    assert.ok(painted >= 1 && painted <= 200, `${painted} of 1000 hovers were painted`);
    assert.ok(results[999], 'the last hover is painted');
    const last = (999 * 7919) % n;
    const [fs, fe] = a.inspector.decorations()!.ranges.focus[0];
    assert.ok(fs <= last && last <= fe, 'the tints are for the last hover');
    assert.ok(stallMs < stallBound(), `bound ${stallBound()} ms (load ${loadavg()[0].toFixed(1)}): stalled ${stallMs.toFixed(0)} ms during ${ms} ms of hovers`);
  });

  test('hostile documents: typing continuously with Follow Cursor on while an analysis runs: no stale tint while typing, a result soon after the typing stops', async () => {
    const a = await api();
    await config().update('reanalyzeDelayMs', 400, G);
    await vscode.commands.executeCommand('attentionInspector.toggleFollowCursor', true);
    try {
      const { path } = tmpFile('typing.py', pyText(6));
      const ed = await openPath(path);
      await a.inspector.analyze(ed);
      const runsBefore = a.inspector.snapshot().panelAnalyses;
      const line = 3;
      setCursor(ed, ed.document.offsetAt(new vscode.Position(line, 0)));
      void a.inspector.analyze(ed).catch(() => undefined); // an analysis is running when the typing starts
      const probe = stallProbe();
      const t0 = Date.now();
      let keys = 0;
      const stamps: number[] = [];
      while (Date.now() - t0 < 6000) {
        const end = ed.document.lineAt(line).range.end;
        await ed.edit((e) => e.insert(end, 'x'), { undoStopBefore: false, undoStopAfter: false });
        stamps.push(Date.now());
        keys++;
        assertNoStaleTint(a, `after keystroke ${keys}`);
        await sleep(40);
      }
      const stallMs = probe.stop();
      const stopped = Date.now();
      const version = ed.document.version;
      const s = await until(() => { const x = a.inspector.snapshot().session; return x && !x.stale && x.version === version && x; }, 45_000, 'the analysis of the typed text');
      const settleMs = Date.now() - stopped;
      log(`typing: ${keys} keystrokes (${stamps.filter((t, i) => i > 0 && t - stamps[i - 1] > 400).length} pauses > 400 ms), settled ${settleMs} ms after the typing stopped, ${a.inspector.snapshot().panelAnalyses - runsBefore} model passes, stall ${stallMs.toFixed(0)} ms`);
      assert.equal(s.version, ed.document.version);
      assertTokensMatch(a, ed.document);
      await until(() => a.inspector.decorations()?.ranges.focus, 20_000, 'the cursor token painted');
      assertNoStaleTint(a, 'after the typing');
      const runs = a.inspector.snapshot().panelAnalyses - runsBefore;
      // A model pass starts only after a pause in typing longer than reanalyzeDelayMs (edits wait for the workbench,
      // which the panel's model pass can keep busy, so some keystrokes are far apart): no backlog of outdated texts.
      const pauses = stamps.filter((t, i) => i > 0 && t - stamps[i - 1] > 400).length;
      assert.ok(runs <= pauses + 3, `${runs} model passes for ${keys} keystrokes with ${pauses} pauses over 400 ms`);
      assert.ok(stallMs < stallBound(), `bound ${stallBound()} ms (load ${loadavg()[0].toFixed(1)}): stalled ${stallMs.toFixed(0)} ms while typing`);
      assert.ok(settleMs < 45_000, `settled ${settleMs} ms after the typing stopped`);
    } finally {
      await vscode.commands.executeCommand('attentionInspector.toggleFollowCursor', false);
      await config().update('reanalyzeDelayMs', undefined, G);
    }
  });

  test('hostile documents: maxTokens set to nonsense (0, 2.5, -7) is clamped to a whole number of at least 2: a tiny window is analyzed', async () => {
    const a = await api();
    const ed = await untitled(pyText(2));
    setCursor(ed, 200);
    try {
      for (const v of [0, 2.5, -7]) {
        await config().update('maxTokens', v, G);
        await a.inspector.analyze(ed);
        const s = a.inspector.snapshot().session!;
        assert.ok(s.tokens >= 1 && s.tokens <= 2, `maxTokens ${v}: ${s.tokens} tokens`);
        assertTokensMatch(a, ed.document);
      }
    } finally {
      await config().update('maxTokens', undefined, G);
    }
  });

  test('hostile documents: nothing was written into the workspace folder by any of these cases', () => {
    const after = listFiles(ws().fsPath);
    assert.deepEqual([...after.entries()].sort(), [...before.entries()].sort());
  });
});
