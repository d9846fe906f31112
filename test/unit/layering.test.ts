import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

// DESIGN.md §3: the host never imports webview code, the webview never imports `vscode`, and src/core is pure.
const root = process.cwd();

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((f) => {
    const p = join(dir, f);
    return statSync(join(root, p)).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const src = readFileSync(join(root, file), 'utf8');
  return [...src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
}

const resolvesInto = (file: string, spec: string, dir: string) =>
  spec.startsWith('.') && relative(root, join(root, file, '..', spec)).startsWith(dir + '/');

test('the extension host never imports webview code', () => {
  for (const f of tsFiles('src')) for (const s of imports(f)) assert.ok(!resolvesInto(f, s, 'webview'), `${f} imports ${s}`);
});

test('the webview never imports vscode and reaches into src/ only through src/core', () => {
  for (const f of tsFiles('webview')) {
    for (const s of imports(f)) {
      assert.notEqual(s, 'vscode', `${f} imports vscode`);
      if (resolvesInto(f, s, 'src')) assert.ok(resolvesInto(f, s, 'src/core'), `${f} imports ${s} outside src/core`);
    }
  }
});

test('src/core is pure: no vscode and no Node built-ins', () => {
  for (const f of tsFiles('src/core')) {
    for (const s of imports(f)) {
      assert.notEqual(s, 'vscode', `${f} imports vscode`);
      assert.ok(!s.startsWith('node:'), `${f} imports ${s}`);
      assert.ok(!s.startsWith('.') || resolvesInto(f, s, 'src/core'), `${f} imports ${s} outside src/core`);
    }
  }
});

test('the checks above see real imports (guard against a regex that matches nothing)', () => {
  assert.ok(imports('webview/main.ts').includes('../src/core/protocol'));
  assert.ok(imports('src/extension.ts').includes('vscode'));
});
