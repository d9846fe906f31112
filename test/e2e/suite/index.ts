/**
 * Entry point that VS Code's extension host loads through `extensionTestsPath` (code-server here,
 * @vscode/test-electron on a desktop). Runs the mocha suites in the real extension host, prints one line per
 * test and `extension-host: N passed, N failed`, and writes the results to $ATTN_E2E_RESULTS when set.
 */
import { writeFileSync } from 'node:fs';
import Mocha from 'mocha';
import { notes } from './harness';

interface Outcome { title: string; ok: boolean; error?: string; ms: number; note?: string }

export async function run(): Promise<void> {
  // ATTN_E2E_GREP (a regular expression on the test titles) runs a subset while working on one suite.
  const grep = process.env.ATTN_E2E_GREP ? new RegExp(process.env.ATTN_E2E_GREP) : undefined;
  const mocha = new Mocha({ ui: 'tdd', timeout: 120_000, color: false, grep, reporter: function Silent() {} as unknown as string });
  mocha.suite.emit('pre-require', globalThis, 'extension.test', mocha);
  await import('./extension.test');
  await import('./inspector.test');
  await import('./byom.test');
  await import('./hostileModels.test');
  await import('./hostileDocuments.test');
  const outcomes: Outcome[] = [];
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    runner.on('pass', (t) => outcomes.push({ title: t.fullTitle(), ok: true, ms: t.duration ?? 0, note: notes.get(t.title) }));
    runner.on('fail', (t, err: Error) => outcomes.push({ title: t.fullTitle(), ok: false, error: err.stack ?? String(err), ms: t.duration ?? 0 }));
  });
  const passed = outcomes.filter((o) => o.ok).length;
  const lines = outcomes.map((o) => `  ${o.ok ? 'ok  ' : 'FAIL'} ${o.title} (${Math.round(o.ms)} ms)${o.note ? `\n       measured: ${o.note}` : ''}${o.ok ? '' : '\n       ' + excerpt(o.error ?? '').join('\n       ')}`);
  lines.push(`extension-host: ${passed} passed, ${outcomes.length - passed} failed`);
  console.log(lines.join('\n'));
  if (process.env.ATTN_E2E_RESULTS) writeFileSync(process.env.ATTN_E2E_RESULTS, JSON.stringify({ outcomes, lines }, null, 2));
  if (failures > 0) throw new Error(`${failures} extension-host test(s) failed`);
}

/** The error's first lines (what failed) and last lines (why), as test/reporter.mjs shows them. */
function excerpt(text: string): string[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !/^\s+at .*(node:internal|node_modules)/.test(l));
  return lines.length <= 16 ? lines : [...lines.slice(0, 6), `... (${lines.length - 14} lines left out) ...`, ...lines.slice(-8)];
}
