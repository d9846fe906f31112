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

test('the early script is inlined in the head with the nonce, before the stylesheet, with its files and the cache stamp escaped; none without it or with files missing', () => {
  const files = ['https://x/dist/models/twin-diff/manifest.json', 'https://x/dist/models/twin-diff/model.onnx?a="1"&b'];
  const withEarly = { ...input, missingFiles: [], early: { script: 'window.x = "</script><!-- ok";', files }, fileStamp: 'ab"c', backendPreference: 'wasm' };
  const html = panelHtml(withEarly);
  const nonce = csp(html).get('script-src')?.[0].slice(7, -1);
  const m = /<script nonce="([^"]+)" ([^>]*)>([^]*?)<\/script>/.exec(html);
  assert.ok(m, 'an inline script');
  assert.equal(m[1], nonce, 'it carries the page nonce (the CSP allows no other inline script)');
  const attrs = new Map([...m[2].matchAll(/(data-[\w-]+)="([^"]*)"/g)].map((a) => [a[1], a[2].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&amp;/g, '&')]));
  assert.deepEqual(JSON.parse(attrs.get('data-files')!), files);
  assert.equal(attrs.get('data-file-stamp'), 'ab"c');
  // "</script" and "<!--" inside the script's strings would end or change the element: written as \x3C, which JS reads as "<".
  assert.equal(m[3], 'window.x = "\\x3C/script>\\x3C!-- ok";');
  assert.equal(Function(`let window = {}; ${m[3]} return window.x;`)(), '</script><!-- ok');
  assert.ok(html.indexOf(m[0]) < html.indexOf('rel="stylesheet"'), 'before the stylesheet (a script after a pending stylesheet waits for it)');
  assert.match(html, /<body[^>]* data-file-stamp="ab&quot;c"/);
  const scripts = (h: string) => (h.match(/<script/g) ?? []).length;
  assert.equal(scripts(panelHtml(input)), 1, 'only the panel script without an early one');
  assert.equal(scripts(panelHtml({ ...withEarly, missingFiles: ['dist/ort/x.mjs'] })), 1, 'no early loads when the host found files missing');
});
