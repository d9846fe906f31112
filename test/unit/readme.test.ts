// The README's hostile-input tables are the suites' own tables (test/e2e/hostile-documents.md, hostile-models.md; the
// second is kept equal to the messages the cases produce by hostileModels.test.ts): every row must be in the README,
// with the counts it states, so the README cannot drift from what the suites check.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const readme = readFileSync('README.md', 'utf8');
const rows = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('| ') && !/^\| (Case|---)/.test(l));

for (const [file, heading] of [['test/e2e/hostile-documents.md', 'Documents and editor events'], ['test/e2e/hostile-models.md', 'Model folders']] as const) {
  test(`README: the hostile-input table "${heading}" holds every row of ${file}, and its count`, () => {
    const r = rows(file);
    assert.ok(r.length >= 20, `${file} has only ${r.length} rows`);
    const missing = r.filter((row) => !readme.includes(row + '\n'));
    assert.deepEqual(missing.map((m) => m.slice(0, 80)), [], `copy the rows of ${file} into README.md's "Hostile inputs"`);
    assert.ok(readme.includes(`### ${heading} (${r.length} cases)`), `README's heading should say ${r.length} cases`);
  });
}

test('README: the quick start has exactly the two commands, npm start and npm test', () => {
  const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 3));
  const block = /```bash\n([\s\S]*?)```/.exec(quick)?.[1] ?? '';
  assert.deepEqual(block.split('\n').filter(Boolean).map((l) => l.split('#')[0].trim()), ['npm start', 'npm test']);
});
