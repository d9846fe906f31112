import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { ORT_BINARIES, ORT_RUNTIME_FILES } from '../../src/core/ortFiles';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const sources = ['src/extension.ts', 'src/extensionCore.ts', 'src/panel/panelProvider.ts', 'src/inspector/commands.ts'].map((f) => readFileSync(join(root, f), 'utf8')).join('\n');

test('engines.vscode is no newer than the VS Code the tests run (1.100, code-server 4.100.3)', () => {
  const m = /^\^?(\d+)\.(\d+)\./.exec(pkg.engines.vscode);
  assert.ok(m, pkg.engines.vscode);
  assert.ok(Number(m[1]) === 1 && Number(m[2]) <= 100);
  assert.equal(pkg.main, './dist/extension.js');
});

test('every contributed command is registered in code and carries the category', () => {
  for (const c of pkg.contributes.commands) {
    assert.equal(c.category, 'Attention Inspector', c.command);
    assert.ok(sources.includes(`'${c.command}'`), `${c.command} is registered`);
  }
});

test('every setting has a description and a default', () => {
  for (const [k, v] of Object.entries<Record<string, unknown>>(pkg.contributes.configuration.properties)) {
    assert.ok(k.startsWith('attentionInspector.'), k);
    assert.ok(typeof (v.description ?? v.markdownDescription) === 'string', `${k} has a description`);
    assert.ok('default' in v, `${k} has a default`);
  }
});

test('the webview view is contributed under our activity-bar container', () => {
  const views = pkg.contributes.views.attentionInspector;
  assert.equal(views[0].type, 'webview');
  assert.equal(views[0].id, 'attentionInspector.panel');
  assert.equal(pkg.contributes.viewsContainers.activitybar[0].id, 'attentionInspector');
});

test('the packaged .vsix holds what runs and nothing else (.vscodeignore)', () => {
  // README.md is not in this list: npm run package hands vsce the packaged README (see test/unit/vsix.test.ts).
  const out = execFileSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8' });
  const files = out.split('\n').map((l) => l.trim()).filter(Boolean);
  for (const need of ['package.json', 'LICENSE', 'ThirdPartyNotices.txt', 'dist/models/index.json', 'dist/extension.js', 'dist/openModelWorker.js', 'dist/tokenizeWorker.js', 'dist/webview.js', 'dist/early.js', 'dist/probe.onnx', ...ORT_RUNTIME_FILES.map((f) => `dist/ort/${f}`), 'media/panel.css', 'media/icon.svg', 'dist/extensionCore.js', 'media/walkthrough/analyze.md', 'samples/differential_attention.py']) {
    assert.ok(files.includes(need), `${need} is packaged`);
  }
  for (const f of files) {
    assert.ok(!/^(src|webview|test|scripts|training|bench|node_modules|out|\.tools|\.ci)\//.test(f), `${f} should not be packaged`);
    assert.ok(!f.endsWith('.map') && !f.endsWith('.ts'), `${f} should not be packaged`);
  }
});

test('dist/ort: each shipped binary inflates to exactly the onnxruntime-web package\'s .wasm, and no raw binary is left beside it', () => {
  const npmDist = join(root, 'node_modules/onnxruntime-web/dist');
  for (const gz of Object.values(ORT_BINARIES)) {
    const shipped = readFileSync(join(root, 'dist/ort', gz));
    const wasm = readFileSync(join(npmDist, gz.replace(/\.gz$/, '')));
    assert.ok(shipped.byteLength < wasm.byteLength / 3, `${gz}: ${shipped.byteLength} bytes for a ${wasm.byteLength}-byte binary`);
    assert.ok(gunzipSync(shipped).equals(wasm), `${gz} does not inflate to the package's binary`);
    assert.ok(!existsSync(join(root, 'dist/ort', gz.replace(/\.gz$/, ''))), `a raw ${gz.replace(/\.gz$/, '')} is still in dist/ort`);
  }
});
