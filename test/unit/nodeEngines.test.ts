// package.json declares Node >= 20 (the machine's own Node and code-server 4.100.3's). A dev tool that needs Node 22
// installs with only a warning and then fails at run time, so every package in the lock file must admit Node 20.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require('semver') as { intersects(a: string, b: string): boolean; minVersion(r: string): { major: number } | null };

test('engines: every package in package-lock.json runs on the Node major that package.json declares', () => {
  const declared = JSON.parse(readFileSync('package.json', 'utf8')).engines.node as string;
  const major = semver.minVersion(declared)?.major;
  assert.equal(major, 20, `package.json engines.node is ${declared}`);
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { engines?: { node?: string } | string[]; version?: string }> };
  const refuse = Object.entries(lock.packages)
    .filter(([, p]) => p.engines && !Array.isArray(p.engines) && p.engines.node && !semver.intersects(p.engines.node, `^${major}.0.0`))
    .map(([name, p]) => `${name.replace(/^node_modules\//, '')}@${p.version} needs node ${(p.engines as { node: string }).node}`);
  assert.ok(Object.keys(lock.packages).length > 100, 'the lock file lists too few packages to be the real one');
  assert.deepEqual(refuse, [], 'pick versions (or package.json overrides) that run on the declared Node');
});
