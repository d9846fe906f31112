// node:test reporter: one line per test, failures with their error, and the closing `<suite>: N passed, N failed`.
const suite = process.env.SUITE_NAME ?? 'tests';
export default async function* reporter(source) {
  let passed = 0;
  let failed = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (d.details?.type === 'suite') continue; // count tests, not describe blocks
    const name = d.name;
    if (event.type === 'test:pass') {
      if (d.skip || d.todo) continue;
      passed++;
      yield `  ok   ${name} (${Math.round(d.details.duration_ms)} ms)\n`;
    } else {
      failed++;
      const err = d.details?.error;
      const cause = err?.cause ?? err;
      yield `  FAIL ${name}\n       ${String(cause?.stack ?? cause?.message ?? cause).split('\n').slice(0, 6).join('\n       ')}\n`;
    }
  }
  yield `${suite}: ${passed} passed, ${failed} failed\n`;
}
