// Runs the unit-test bundles (built by `node scripts/build.mjs --tests`) with node's test runner.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = join(root, 'out/test/unit');
const files = readdirSync(dir).filter((f) => f.endsWith('.test.cjs')).map((f) => join(dir, f));
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', `--test-reporter=${join(root, 'test/reporter.mjs')}`, ...files], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, SUITE_NAME: 'unit' },
});
process.exit(r.status ?? 1);
