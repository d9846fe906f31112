// The Python side's dependencies are one list (training/python-deps.txt) that setup-tools.sh installs from. A fresh
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

function listed(): Map<string, string> {
  const deps = new Map<string, string>();
  for (const line of readFileSync(join(training, 'python-deps.txt'), 'utf8').split('\n')) {
    const [module, pkg] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (module) deps.set(module, pkg ?? '');
  }
  return deps;
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

test('python deps: every third-party module imported by training/*.py is in training/python-deps.txt', () => {
  const std = stdlib();
  const local = new Set(pyFiles.map((f) => f.replace(/\.py$/, '')));
  const deps = listed();
  const missing: string[] = [];
  const used = new Set<string>();
  for (const f of pyFiles) {
    for (const module of importsOf(readFileSync(join(training, f), 'utf8'))) {
      if (std.has(module) || local.has(module) || module === '__future__') continue;
      used.add(module);
      if (!deps.has(module)) missing.push(`${module} (training/${f})`);
    }
  }
  assert.ok(used.has('torch') && used.has('regex'), `the import scan found too little: ${[...used].join(', ')}`);
  assert.deepEqual(missing, [], `add these to training/python-deps.txt with their Debian package: ${missing.join(', ')}`);
  const stale = [...deps.keys()].filter((m) => !used.has(m));
  assert.deepEqual(stale, [], `training/python-deps.txt lists modules no training/*.py imports: ${stale.join(', ')}`);
});

test('python deps: the import scan sees nested, dotted and comma-separated imports', () => {
  assert.deepEqual(
    [...importsOf('import os, regex as re\nfrom torch.nn import functional\n    import onnx  # in a function\nx = "import nothing"\n')].sort(),
    ['onnx', 'os', 'regex', 'torch'],
  );
});

test('python deps: setup-tools.sh installs from the list, and every listed package imports in Debian\'s python', () => {
  assert.match(readFileSync(join(root, 'scripts/setup-tools.sh'), 'utf8'), /training\/python-deps\.txt/);
  for (const [module, pkg] of listed()) {
    if (pkg === '-') continue;
    assert.match(pkg, /^python3-[a-z0-9.-]+$/, `${module}: '${pkg}' is not a Debian python3- package name`);
    const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${PYTHON} cannot import ${module} (Debian package ${pkg}); run scripts/setup-tools.sh as root:\n${r.stderr}`);
  }
});
