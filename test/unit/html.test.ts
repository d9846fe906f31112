import assert from 'node:assert/strict';
import { test } from 'node:test';
import { panelHtml } from '../../src/panel/html';

const input = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  scriptUri: 'https://x/dist/webview.js',
  styleUri: 'https://x/media/panel.css',
  ortBaseUri: 'https://x/dist/ort/',
  probeUri: 'https://x/dist/probe.onnx',
  modelsUri: 'https://x/media/models/',
  missingFiles: ['dist/ort/a "b".wasm'],
};

function csp(html: string): Map<string, string[]> {
  const m = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.ok(m, 'a CSP meta tag');
  return new Map(m[1].split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
}

test('the CSP allows only our nonce-tagged script, wasm compilation and the webview source', () => {
  const html = panelHtml(input);
  const p = csp(html);
  assert.deepEqual(p.get('default-src'), ["'none'"]);
  const script = p.get('script-src') ?? [];
  const nonce = script.find((s) => s.startsWith("'nonce-"));
  assert.ok(nonce);
  assert.ok(script.includes("'wasm-unsafe-eval'"));
  assert.ok(!script.includes("'unsafe-eval'") && !script.includes("'unsafe-inline'"));
  assert.deepEqual(p.get('connect-src'), [input.cspSource]);
  assert.ok(p.get('worker-src')?.includes(input.cspSource));
  assert.ok(html.includes(`nonce="${nonce.slice(7, -1)}"`), 'the script tag carries the nonce');
  for (const [, values] of p) for (const v of values) assert.ok(!/^https?:\/\/(?!file\+)/.test(v), `no remote source: ${v}`);
});

test('each page gets a fresh nonce', () => {
  const a = csp(panelHtml(input)).get('script-src')?.[0];
  const b = csp(panelHtml(input)).get('script-src')?.[0];
  assert.notEqual(a, b);
});

test('attribute values are escaped', () => {
  const html = panelHtml(input);
  assert.ok(html.includes('data-missing="[&quot;dist/ort/a \\&quot;b\\&quot;.wasm&quot;]"'));
});

test('the remembered backend timings reach the panel as an escaped JSON attribute', () => {
  const timing = { adapter: 'nvidia|ampere|"x"|<GPU>', model: 'twin-diff', tokens: 512, wasmMs: 120, webgpuMs: 30, at: '2026-11-29T14:00:00.000Z' };
  const html = panelHtml({ ...input, backendTimings: [timing] });
  const attr = /data-backend-timings="([^"]*)"/.exec(html)?.[1] ?? '';
  assert.ok(!attr.includes('<') && !attr.includes('"'));
  assert.deepEqual(JSON.parse(attr.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&amp;/g, '&')), [timing]);
  assert.match(panelHtml(input), /data-backend-timings="\[\]"/);
});
