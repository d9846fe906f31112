import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../../src/extension';
import { EXT_ID, api } from './harness';

const config = () => vscode.workspace.getConfiguration('attentionInspector');


suite('Attention Inspector in the extension host', () => {
  teardown(async () => {
    await config().update('backend', undefined, vscode.ConfigurationTarget.Global);
    await config().update('webviewTimeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
  });

  // First in the suite: nothing before it has used the extension.
  test('activation is lazy: activate() loads dist/extension.js only; the first command loads dist/extensionCore.js', async () => {
    const coreLoaded = () => Object.keys(require.cache).some((k) => k.replace(/\\/g, '/').endsWith('/dist/extensionCore.js'));
    const ext = vscode.extensions.getExtension<AttentionInspectorApi>(EXT_ID)!;
    await ext.activate();
    assert.ok(Object.keys(require.cache).some((k) => k.replace(/\\/g, '/').endsWith('/dist/extension.js')), 'dist/extension.js is loaded');
    assert.equal(coreLoaded(), false, 'dist/extensionCore.js was loaded by activation');
    const pkg = ext.packageJSON as { activationEvents: string[] };
    assert.deepEqual(pkg.activationEvents, ['onLanguage']);
    await vscode.commands.executeCommand('attentionInspector.showLog');
    assert.equal(coreLoaded(), true, 'the first command loads the core');
  });

  test('every contributed command is registered', async () => {
    await api();
    const ext = vscode.extensions.getExtension(EXT_ID)!;
    const contributed: { command: string }[] = ext.packageJSON.contributes.commands;
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of contributed) assert.ok(all.has(c.command), `${c.command} registered`);
    assert.ok(contributed.length >= 3);
  });

  // The code-server run sets ATTN_EXPECT_WEBGPU=1 (its Chromium has the software adapter); on a desktop VS Code
  // without a GPU the panel must instead say why and use wasm.
  const expectWebGpu = process.env.ATTN_EXPECT_WEBGPU === '1';

  test('the panel starts and reports its adapter (or why there is none) and a matching backend', async () => {
    const caps = await (await api()).whenReady();
    if (expectWebGpu) assert.ok(caps.adapter, `adapter expected; reason: ${caps.webgpuUnavailableReason}`);
    if (caps.adapter) {
      // auto never runs on a software adapter (SwiftShader here): wasm is far faster there.
      assert.equal(caps.backend, caps.adapter.software ? 'wasm' : 'webgpu', caps.backendReason);
      if (caps.adapter.software) assert.match(caps.backendReason, /software renderer, far slower than wasm/);
      assert.equal(caps.webgpuUnavailableReason, null);
    } else {
      assert.equal(caps.backend, 'wasm');
      assert.ok((caps.webgpuUnavailableReason ?? '').length > 10);
    }
  });

  test('the probe runs in the webview on the reported backend and matches the reference', async () => {
    const a = await api();
    const r = await a.runProbe(32);
    assert.equal(r.backend, a.capabilities()?.backend);
    assert.equal(r.tokens, 32);
    assert.ok(r.maxAbsError < 1e-5, `max error ${r.maxAbsError}`);
    assert.equal(r.firstRow.length, 8);
  });

  test('the backend setting "webgpu" runs the probe on WebGPU, a software adapter included, and says why', async () => {
    await config().update('backend', 'webgpu', vscode.ConfigurationTarget.Global);
    const a = await api();
    const r = await a.runProbe(16);
    assert.equal(r.backend, expectWebGpu ? 'webgpu' : a.capabilities()?.backend);
    assert.ok(r.maxAbsError < 1e-5);
    // The webview reports the new choice and its reason (capabilities/didChange) once it has handled the setting.
    for (let i = 0; expectWebGpu && i < 100 && !/"webgpu"/.test(a.capabilities()?.backendReason ?? ''); i++) await new Promise((r) => setTimeout(r, 50));
    if (expectWebGpu) assert.match(a.capabilities()?.backendReason ?? '', /the setting attentionInspector.backend is "webgpu"/);
  });

  test('Check Runtime (the palette command) returns the probe result', async () => {
    const r = await vscode.commands.executeCommand<{ backend: string; maxAbsError: number } | undefined>('attentionInspector.checkRuntime');
    assert.ok(r, 'a result');
    assert.ok(r.maxAbsError < 1e-5);
  });

  test('the backend setting "wasm" moves the probe to WebAssembly', async () => {
    await config().update('backend', 'wasm', vscode.ConfigurationTarget.Global);
    const r = await (await api()).runProbe(16);
    assert.equal(r.backend, 'wasm');
    assert.ok(r.maxAbsError < 1e-5);
  });

  test('a webview reload while the host waits ends in a clear error, and the next request works', async () => {
    const a = await api();
    await a.whenReady();
    await config().update('webviewTimeoutSeconds', 20, vscode.ConfigurationTarget.Global);
    // A long probe on the software adapter keeps the webview busy while we reload it.
    const pending = a.runProbe(1500);
    await vscode.commands.executeCommand('workbench.action.webview.reloadWebviewAction');
    await assert.rejects(pending, (e: Error) => /reloaded|did not answer|closed/.test(e.message) && /run the command again/.test(e.message));
    const r = await a.runProbe(8);
    assert.ok(r.maxAbsError < 1e-5, 'recovered');
  });
});

suite('Analyses through the panel (bundled twins, real engine)', () => {
  const text = 'def attend(query, keys):\r\n    # weights 🫥 sum to one\n    return softmax(query @ keys.T)\n';

  test('analyzeText runs twin-diff in the webview and rows arrive as typed arrays that sum to 1 − λ per head', async () => {
    const a = await api();
    const { info, spans } = await a.analyzeText(text, 'twin-diff');
    assert.equal(info.model, 'twin-diff');
    assert.equal(info.tokens, spans.length);
    assert.equal(spans.at(-1)!.end, text.length, 'token ranges tile the text');
    assert.equal(info.lambdas.length, info.layers);
    const rows = await a.rows(info.tokens - 1);
    assert.ok(rows.a instanceof Float32Array && rows.a1 instanceof Float32Array, 'typed arrays survive the webview → host trip');
    assert.equal(rows.a.length, info.layers * info.heads * info.tokens);
    for (let l = 0; l < info.layers; l++) {
      for (let h = 0; h < info.heads; h++) {
        const o = (l * info.heads + h) * info.tokens;
        const sum = rows.a.subarray(o, o + info.tokens).reduce((s, v) => s + v, 0);
        assert.ok(Math.abs(sum - (1 - info.lambdas[l])) < 1e-4, `layer ${l} head ${h}: ${sum} vs 1 − λ`);
      }
    }
  });

  test('twin-softmax rows sum to 1, and asking for a token outside the text fails with a message', async () => {
    const a = await api();
    const { info } = await a.analyzeText(text, 'twin-softmax');
    assert.deepEqual(info.lambdas, []);
    const rows = await a.rows(3);
    assert.equal(rows.a1, undefined);
    const first = rows.a.subarray(0, info.tokens);
    assert.ok(Math.abs(first.reduce((s, v) => s + v, 0) - 1) < 1e-4);
    assert.ok(first.subarray(4).every((v) => v === 0), 'causal: nothing after the query');
    await assert.rejects(a.rows(info.tokens + 5), /outside 0\.\./);
  });

  test('empty text is refused before it reaches the panel', async () => {
    await assert.rejects((await api()).analyzeText(''), /nothing to analyze/);
  });
});

suite('Engine queries through the panel', () => {
  test('columns, a pooled map, statistics, what-if views, rollout and value-weighted rows come back as typed arrays', async () => {
    const a = await api();
    const text = 'The access code for the north gate is kestrel-4821.\nQuestion: What is the access code for the north gate?\nAnswer:';
    const { info } = await a.analyzeText(text, 'twin-diff');
    const T = info.tokens;
    const rows = await a.rows(T - 1);
    const cols = await a.query({ kind: 'columns', layer: 1, key: 0 });
    assert.deepEqual(cols.dims, [info.heads, T]);
    // The column of key 0 at the last query equals that query's row entry 0, per head.
    for (let h = 0; h < info.heads; h++) assert.ok(Math.abs(cols.data[h * T + T - 1] - rows.a[(1 * info.heads + h) * T]) < 1e-5);
    const map = await a.query({ kind: 'map', layer: 0, head: 1, maxCells: 16 });
    assert.deepEqual(map.dims, [16, 16]);
    assert.ok(map.data.some((v) => v < 0) || map.data.some((v) => v > 0));
    const stats = await a.query({ kind: 'stats', layer: 3 });
    assert.deepEqual(stats.dims, [info.heads, 6]);
    for (let h = 0; h < info.heads; h++) assert.ok(stats.data[h * 6 + 5] < 1e-4, 'rows sum to 1 − λ');
    const wi = await a.query({ kind: 'whatIf', layer: 2, head: 0, query: T - 1 });
    assert.deepEqual(wi.dims, [8, T]);
    const ro = await a.query({ kind: 'rollout', query: T - 1, mode: 'abs' });
    assert.ok(Math.abs(ro.data.reduce((s, v) => s + v, 0) - 1) < 1e-3);
    const vw = await a.query({ kind: 'valueWeighted', layer: 0, head: 0, query: T - 1 });
    assert.equal(vw.data.length, T);
    await assert.rejects(a.query({ kind: 'stats', layer: 9 }), /layer 9 is outside 0\.\.3/);
  });
});
