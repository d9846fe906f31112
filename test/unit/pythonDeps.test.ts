// The Python side's dependencies are one list (PY_DEPS in scripts/setup-tools.sh), which setup installs. A fresh
// machine once failed the exporter's tests because bpe.py imported `regex` and the list in setup did not have it:
// these tests read the imports of training/*.py themselves and fail on any third-party module the list lacks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const root = process.cwd();
const training = join(root, 'training');
const PYTHON = process.env.ATTN_PYTHON ?? '/usr/bin/python3';

const setup = readFileSync(join(root, 'scripts/setup-tools.sh'), 'utf8');
/** Modules without a Debian package: optional, and the tests do without them (said in setup-tools.sh). */
const OPTIONAL = new Set(['transformers']);

function listed(): Map<string, string> {
  const block = /^PY_DEPS=\(\n([\s\S]*?)\n\)/m.exec(setup)?.[1];
  assert.ok(block, 'scripts/setup-tools.sh has no PY_DEPS=( … ) list');
  return new Map(block.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => l.split(':') as [string, string]));
}

/** Top-level module names of every `import x` / `from x import y` in the file, nested ones included. */
function importsOf(source: string): Set<string> {
  const found = new Set<string>();
  for (const m of source.matchAll(/^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*))/gm)) {
    for (const name of (m[1] ?? m[2]).split(',')) found.add(name.trim().split('.')[0]);
  }
  return found;
}

function stdlib(): Set<string> {
  const r = spawnSync(PYTHON, ['-c', 'import sys; print("\\n".join(sorted(sys.stdlib_module_names)))'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${PYTHON} could not list its standard library: ${r.stderr}`);
  return new Set(r.stdout.split('\n').filter(Boolean));
}

const pyFiles = readdirSync(training).filter((f) => f.endsWith('.py'));

test('python deps: every third-party module imported by training/*.py is in setup-tools.sh\'s PY_DEPS', () => {
  const std = stdlib();
  const local = new Set(pyFiles.map((f) => f.replace(/\.py$/, '')));
  const deps = listed();
  const missing: string[] = [];
  const used = new Set<string>();
  for (const f of pyFiles) {
    for (const module of importsOf(readFileSync(join(training, f), 'utf8'))) {
      if (std.has(module) || local.has(module) || module === '__future__') continue;
      used.add(module);
      if (!deps.has(module) && !OPTIONAL.has(module)) missing.push(`${module} (training/${f})`);
    }
  }
  assert.ok(used.has('torch') && used.has('regex'), `the import scan found too little: ${[...used].join(', ')}`);
  assert.deepEqual(missing, [], `add these to PY_DEPS in scripts/setup-tools.sh with their Debian package: ${missing.join(', ')}`);
  const stale = [...deps.keys()].filter((m) => !used.has(m));
  assert.deepEqual(stale, [], `PY_DEPS lists modules no training/*.py imports: ${stale.join(', ')}`);
});

test('python deps: the import scan sees nested, dotted and comma-separated imports', () => {
  assert.deepEqual(
    [...importsOf('import os, regex as re\nfrom torch.nn import functional\n    import onnx  # in a function\nx = "import nothing"\n')].sort(),
    ['onnx', 'os', 'regex', 'torch'],
  );
});

test('python deps: setup-tools.sh installs from PY_DEPS, and every listed package imports in Debian\'s python', () => {
  assert.match(setup, /for dep in "\$\{PY_DEPS\[@\]\}"/, 'setup-tools.sh installs from PY_DEPS');
  for (const [module, pkg] of listed()) {
    assert.match(pkg, /^python3-[a-z0-9.-]+$/, `${module}: '${pkg}' is not a Debian python3- package name`);
    const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${PYTHON} cannot import ${module} (Debian package ${pkg}); run scripts/setup-tools.sh as root:\n${r.stderr}`);
  }
});
