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
      yield `  FAIL ${name}\n       ${excerpt(cause).join('\n       ')}\n`;
    }
  }
  yield `${suite}: ${passed} passed, ${failed} failed\n`;
}

/**
 * The message's first lines (what failed) and its last lines (why): a failed subprocess puts its traceback's cause,
 * the `ModuleNotFoundError`, at the end of a long message. Stack frames of the test runner itself are left out.
 */
function excerpt(error) {
  const text = String(error?.message ?? error);
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const stack = String(error?.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l) && !l.includes('node:internal')).slice(0, 3);
  const shown = lines.length <= 24 ? lines : [...lines.slice(0, 4), `... (${lines.length - 20} lines left out) ...`, ...lines.slice(-16)];
  return [...shown, ...stack];
}
