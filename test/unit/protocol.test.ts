import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKEND_TIMINGS_KEPT, adapterKey, chooseBackend, isSoftwareAdapter, parseToHost, parseToWebview, rememberTiming, type BackendTiming, type Capabilities } from '../../src/core/protocol';

const caps: Capabilities = {
  adapter: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader', shaderF16: false, software: true },
  webgpuUnavailableReason: null,
  backend: 'wasm',
  backendReason: 'the WebGPU adapter (google swiftshader SwiftShader) is a software renderer',
  crossOriginIsolated: false,
  userAgent: 'x',
};

test('a valid ready message is accepted as is', () => {
  const r = parseToHost({ method: 'webview/ready', capabilities: caps });
  assert.equal(r.ok, true);
  assert.deepEqual(r.ok && r.message, { method: 'webview/ready', capabilities: caps });
});

test('ready with no adapter must say why as a string or null', () => {
  assert.equal(parseToHost({ method: 'webview/ready', capabilities: { ...caps, adapter: null, webgpuUnavailableReason: 'none' } }).ok, true);
  const bad = parseToHost({ method: 'webview/ready', capabilities: { ...caps, webgpuUnavailableReason: 3 } });
  assert.deepEqual(bad, { ok: false, method: 'webview/ready', reason: 'capabilities.webgpuUnavailableReason must be a string or null' });
});

test('invalid messages are rejected with the method and a reason that names the field', () => {
  assert.deepEqual(parseToHost(null), { ok: false, method: 'null', reason: 'not an object with a string "method"' });
  assert.deepEqual(parseToHost('hello'), { ok: false, method: 'string', reason: 'not an object with a string "method"' });
  assert.deepEqual(parseToHost({ id: 3 }), { ok: false, method: '(no method)', reason: 'not an object with a string "method"' });
  assert.deepEqual(parseToHost({ method: 'nope' }), { ok: false, method: 'nope', reason: 'unknown method' });
  const r = parseToHost({ method: 'webview/ready', capabilities: { ...caps, backend: 'cuda' } });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /capabilities\.backend/);
  const p = parseToHost({ method: 'probe/run/done', id: 1, ok: true, result: { backend: 'wasm', tokens: 3, firstRow: [0.1, NaN], maxAbsError: 0, sessionMs: 1, runMs: 1 } });
  assert.equal(p.ok, false);
  assert.match(!p.ok ? p.reason : '', /firstRow/);
});

test('probe answers: success needs a result, failure needs an error string', () => {
  const result = { backend: 'wasm', tokens: 3, firstRow: [0.5, 0.5], maxAbsError: 1e-7, sessionMs: 2, runMs: 1 };
  assert.equal(parseToHost({ method: 'probe/run/done', id: 4, ok: true, result }).ok, true);
  assert.equal(parseToHost({ method: 'probe/run/done', id: 4, ok: false, error: 'boom' }).ok, true);
  assert.equal(parseToHost({ method: 'probe/run/done', id: 4, ok: false }).ok, false);
  assert.equal(parseToHost({ method: 'probe/run/done', id: 1.5, ok: false, error: 'x' }).ok, false);
  assert.equal(parseToHost({ method: 'probe/run/done', id: 4, ok: 'yes', error: 'x' }).ok, false);
});

test('log messages need a known level', () => {
  assert.equal(parseToHost({ method: 'log', level: 'warn', message: 'x' }).ok, true);
  assert.equal(parseToHost({ method: 'log', level: 'debug', message: 'x' }).ok, false);
});

test('host → webview messages are validated too', () => {
  assert.equal(parseToWebview({ method: 'probe/run', id: 1, backendPreference: 'auto', tokens: 16 }).ok, true);
  assert.equal(parseToWebview({ method: 'probe/run', id: 1, backendPreference: 'auto', tokens: 0 }).ok, false);
  assert.equal(parseToWebview({ method: 'probe/run', id: 1, backendPreference: 'gpu', tokens: 4 }).ok, false);
  assert.equal(parseToWebview({ method: 'config/didChange', backendPreference: 'wasm' }).ok, true);
  assert.equal(parseToWebview({ method: 'webview/ready' }).ok, false);
});

test('backend choice: wasm when asked, without an adapter, and for auto on a software adapter; each with its reason', () => {
  const gpu = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3060', software: false };
  const swift = { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)', software: true };
  assert.deepEqual(chooseBackend('auto', gpu), { backend: 'webgpu', reason: 'a hardware WebGPU adapter (nvidia ampere NVIDIA GeForce RTX 3060), not yet timed against wasm on this machine', untimed: true });
  assert.equal(chooseBackend('auto', null).backend, 'wasm');
  assert.equal(chooseBackend('auto', swift).backend, 'wasm');
  assert.match(chooseBackend('auto', swift).reason, /software renderer, far slower than wasm; set attentionInspector.backend to "webgpu"/);
  assert.deepEqual(chooseBackend('webgpu', swift), { backend: 'webgpu', reason: 'the setting attentionInspector.backend is "webgpu" (google swiftshader SwiftShader Device (Subzero), a software adapter: expect it to be slow)' });
  assert.equal(chooseBackend('webgpu', null).backend, 'wasm');
  assert.equal(chooseBackend('wasm', gpu).backend, 'wasm');
  assert.ok(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', device: '', description: '' }, false));
  assert.ok(isSoftwareAdapter({ vendor: 'mesa', architecture: '', device: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }, false));
  assert.ok(isSoftwareAdapter({ vendor: 'x', architecture: '', device: '', description: '' }, true), 'a fallback adapter is software');
  assert.ok(!isSoftwareAdapter({ vendor: 'intel', architecture: 'gen-12lp', device: '', description: 'Intel(R) UHD Graphics' }, false));
});

test('backend choice by timing: auto on a timed hardware adapter takes the faster backend and says the figures; the host keeps the newest timing per adapter, at most 8; timings are validated', () => {
  const gpu = { vendor: 'intel', architecture: 'gen-12lp', device: '0x9a49', description: 'Intel(R) Iris(R) Xe Graphics', software: false };
  const timing = (wasmMs: number, webgpuMs: number, adapter = adapterKey(gpu)): BackendTiming => ({ adapter, model: 'twin-diff', tokens: 512, wasmMs, webgpuMs, at: '2026-11-29T14:00:00.000Z' });
  assert.equal(adapterKey(gpu), 'intel|gen-12lp|0x9a49|Intel(R) Iris(R) Xe Graphics');
  assert.deepEqual(chooseBackend('auto', gpu, timing(180, 42)), { backend: 'webgpu', reason: 'timed on this machine (2026-11-29): a 512-token forward of twin-diff took 42 ms on WebGPU (intel gen-12lp Intel(R) Iris(R) Xe Graphics) and 180 ms on wasm' });
  const slowGpu = chooseBackend('auto', gpu, timing(95, 310.4));
  assert.equal(slowGpu.backend, 'wasm', 'an integrated GPU slower than wasm loses to it');
  assert.match(slowGpu.reason, /took 310 ms on WebGPU .* and 95 ms on wasm/);
  assert.equal(chooseBackend('webgpu', gpu, timing(95, 310)).backend, 'webgpu', 'the setting still forces WebGPU');
  assert.equal(chooseBackend('auto', { ...gpu, software: true }, timing(300, 90)).backend, 'wasm', 'a software adapter is never used by auto');
  let kept: BackendTiming[] = [];
  for (let i = 0; i < 10; i++) kept = rememberTiming(kept, timing(100, 50 + i, `gpu${i}`));
  assert.equal(kept.length, BACKEND_TIMINGS_KEPT);
  assert.deepEqual(kept.map((t) => t.adapter).slice(0, 2), ['gpu9', 'gpu8'], 'newest first');
  kept = rememberTiming(kept, timing(100, 20, 'gpu5'));
  assert.deepEqual([kept.length, kept[0].webgpuMs, kept.filter((t) => t.adapter === 'gpu5').length], [BACKEND_TIMINGS_KEPT, 20, 1], 'a new timing replaces the old one of its adapter');
  assert.equal(parseToHost({ method: 'backend/timed', timing: timing(1, 2) }).ok, true);
  for (const bad of [{ wasmMs: 0 }, { webgpuMs: Number.NaN }, { model: '../x' }, { at: 'yesterday' }, { tokens: 1.5 }, { adapter: 'x'.repeat(1001) }]) {
    assert.equal(parseToHost({ method: 'backend/timed', timing: { ...timing(1, 2), ...bad } }).ok, false, JSON.stringify(bad));
  }
  assert.equal(parseToHost({ method: 'capabilities/didChange', capabilities: { ...caps, untimed: 'yes' } }).ok, false);
});

test('analysis messages: ids must be an Int32Array, rows must be Float32Arrays of layers × heads × tokens', () => {
  assert.equal(parseToWebview({ method: 'analysis/run', id: 1, backendPreference: 'auto', model: 'twin-diff', ids: new Int32Array([0, 5]) }).ok, true);
  assert.equal(parseToWebview({ method: 'analysis/run', id: 1, backendPreference: 'auto', model: 'twin-diff', ids: [0, 5] }).ok, false);
  assert.equal(parseToWebview({ method: 'analysis/run', id: 1, backendPreference: 'auto', model: '../etc', ids: new Int32Array(1) }).ok, false);
  const result = { query: 1, layers: 2, heads: 2, tokens: 3, a: new Float32Array(12) };
  assert.equal(parseToHost({ method: 'analysis/rows/done', id: 2, ok: true, result }).ok, true);
  assert.equal(parseToHost({ method: 'analysis/rows/done', id: 2, ok: true, result: { ...result, a1: new Float32Array(12), a2: new Float32Array(12) } }).ok, true);
  const short = parseToHost({ method: 'analysis/rows/done', id: 2, ok: true, result: { ...result, a: new Float32Array(11) } });
  assert.equal(short.ok, false);
  assert.match(!short.ok ? short.reason : '', /result\.a has 11 values, layers × heads × tokens = 12/);
  assert.equal(parseToHost({ method: 'analysis/rows/done', id: 2, ok: true, result: { ...result, a: Array(12).fill(0) } }).ok, false);
  assert.equal(parseToHost({ method: 'analysis/rows/done', id: 2, ok: true, result: { ...result, query: 3 } }).ok, false);
  const info = { model: 'twin-diff', backend: 'wasm', tokens: 3, layers: 4, heads: 2, lambdas: [0.1, 0.2, 0.3, 0.4], runMs: 12.5, attention: 'diff-v1', valueWeighted: true, readFrom: 'qk', tokenLimit: 8192 };
  assert.equal(parseToHost({ method: 'analysis/run/done', id: 3, ok: true, result: { ...info, runMs: undefined } }).ok, false);
  assert.equal(parseToHost({ method: 'analysis/run/done', id: 3, ok: true, result: info }).ok, true);
  assert.equal(parseToHost({ method: 'analysis/run/done', id: 3, ok: true, result: { ...info, lambdas: ['x'] } }).ok, false);
  assert.equal(parseToHost({ method: 'analysis/run/done', id: 3, ok: true, result: { ...info, attention: 'diff-v3' } }).ok, false);
});

test('model upload: a user model package travels as a manifest object and ONNX bytes, and is answered with its name', () => {
  const ok = { method: 'model/load', id: 4, backendPreference: 'auto', model: 'gpt2-tiny-0123456789', manifest: { name: 'x' }, onnx: new Uint8Array([8, 1]) };
  assert.equal(parseToWebview(ok).ok, true);
  assert.equal(parseToWebview({ ...ok, onnx: new Uint8Array(0) }).ok, false);
  assert.equal(parseToWebview({ ...ok, onnx: [8, 1] }).ok, false);
  assert.equal(parseToWebview({ ...ok, model: 'Gpt2/../x' }).ok, false);
  assert.equal(parseToWebview({ ...ok, manifest: 'x' }).ok, false);
  const done = { model: 'gpt2-tiny-0123456789', readFrom: 'probs', tokenLimit: 682, maxError: 0.2 };
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: true, result: done }).ok, true);
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: true, result: { ...done, readFrom: 'logits' } }).ok, false);
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: true, result: { ...done, tokenLimit: 0 } }).ok, false);
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: true, result: { ...done, readFrom: 'qk', cacheNote: 'the graph\'s key/value cache was not used' } }).ok, true);
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: true, result: { ...done, cacheNote: 'x'.repeat(2001) } }).ok, false);
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: true, result: { ...done, cacheNote: 7 } }).ok, false);
  assert.equal(parseToWebview({ ...ok, backendPreference: undefined }).ok, false);
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: false, error: 'bad manifest' }).ok, true);
  assert.equal(parseToHost({ method: 'model/load/done', id: 4, ok: true, result: {} }).ok, false);
});

test('explorer messages: state carries one analysis per model and a session; requests name the session they are for', () => {
  const info = { model: 'twin-diff', backend: 'wasm', tokens: 3, layers: 4, heads: 2, lambdas: [0.2, 0.3, 0.4, 0.5], runMs: 9, attention: 'diff-v1', valueWeighted: false, readFrom: 'qk', tokenLimit: 8192 };
  const state = { source: 'a.py, lines 1–2 of 2', contextNote: null, models: ['twin-diff'], labels: ['a', 'b', 'c'], layer: 1, head: 0, viewLabel: 'A', direction: 'attendsTo', focus: 2, measure: null, analyses: [info], session: 3 };
  assert.equal(parseToWebview({ method: 'explorer/state', state }).ok, true);
  assert.equal(parseToWebview({ method: 'explorer/state', state: null }).ok, true);
  assert.deepEqual(parseToWebview({ method: 'explorer/state', state: { ...state, analyses: [] } }), { ok: false, method: 'explorer/state', reason: 'state.analyses must have one entry per model' });
  assert.deepEqual(parseToWebview({ method: 'explorer/state', state: { ...state, analyses: [{ ...info, tokens: 0 }] } }), { ok: false, method: 'explorer/state', reason: 'state.analyses: tokens must be a positive integer' });
  assert.deepEqual(parseToWebview({ method: 'explorer/state', state: { ...state, session: -1 } }), { ok: false, method: 'explorer/state', reason: 'state.session must be a non-negative integer' });
  assert.equal(parseToHost({ method: 'explorer/ready' }).ok, true);
  assert.equal(parseToHost({ method: 'ui/openExplorer' }).ok, true);
  assert.equal(parseToHost({ method: 'explorer/query', id: 1, session: 3, model: 'twin-diff', query: { kind: 'meanMap', layer: 0, maxCells: 64 } }).ok, true);
  assert.deepEqual(parseToHost({ method: 'explorer/query', id: 1, session: 3, model: 'twin-diff', query: { kind: 'meanMap', layer: 0, maxCells: 4096 } }), { ok: false, method: 'explorer/query', reason: 'query.maxCells must be in 1..2048' });
  assert.deepEqual(parseToHost({ method: 'explorer/rows', id: 1, model: 'twin-diff', query: 2 }), { ok: false, method: 'explorer/rows', reason: 'session must be a non-negative integer' });
  assert.deepEqual(parseToHost({ method: 'explorer/rows', id: 1, session: 0, model: '../x', query: 2 }), { ok: false, method: 'explorer/rows', reason: 'model must be a package name' });
  // Answers are checked like the side panel's: a rows payload of the wrong size is dropped.
  const rows = { query: 1, layers: 1, heads: 1, tokens: 3, a: new Float32Array(3) };
  assert.equal(parseToWebview({ method: 'explorer/rows/done', id: 2, ok: true, result: rows }).ok, true);
  assert.deepEqual(parseToWebview({ method: 'explorer/rows/done', id: 2, ok: true, result: { ...rows, a: new Float32Array(2) } }), { ok: false, method: 'explorer/rows/done', reason: 'result.a has 2 values, layers × heads × tokens = 3' });
  assert.equal(parseToWebview({ method: 'explorer/query/done', id: 2, ok: false, error: 'gone' }).ok, true);
  assert.deepEqual(parseToWebview({ method: 'explorer/query/done', id: 2, ok: true, result: { kind: 'meanMap', dims: [2, 2], data: new Float32Array(3) } }), { ok: false, method: 'explorer/query/done', reason: 'result.data has 3 values, dims need 4' });
});
