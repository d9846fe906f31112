// Runs bench/editorBench.ts inside the real extension host (code-server + headless Chromium, wasm backend) and
// prints the table for BENCHMARKS.md.   npm run bench:editor      ATTN_BENCH_TOKENS=512,2048 npm run bench:editor
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../test/browser/chromium.mjs';
import { ROOT, startCodeServer, workbenchUrl } from '../scripts/codeServer.mjs';

const out = join(ROOT, 'out/bench/editor-results.json');
rmSync(out, { force: true });
const cs = await startCodeServer({ env: { ATTN_BENCH_RESULTS: out } });
const context = await launchChromium();
try {
  const page = context.pages()[0];
  page.on('console', (m) => { if (m.type() === 'error' || process.env.ATTN_BENCH_VERBOSE) console.log(`[page ${m.type()}] ${m.text().slice(0, 300)}`); });
  const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', resolve));
  await page.goto(workbenchUrl(cs.url, { folder: join(ROOT, 'test/fixtures/workspace'), extensionDevelopmentPath: ROOT, extensionTestsPath: join(ROOT, 'out/bench/editor/index') }));
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 900_000))]);
  if (!existsSync(out)) throw new Error(`the benchmark wrote no results (exit ${code}):\n${cs.log().slice(-3000)}`);
} finally {
  await context.close();
  await cs.stop();
}
const r = JSON.parse(readFileSync(out, 'utf8'));
if (r.error) throw new Error(`the benchmark failed: ${r.error}`);
console.log(JSON.stringify(r, null, 2));
const f = (v) => v.toFixed(1);
const names = Object.keys(r.points[0].hovers);
console.log(`\n| tokens | analysis (ms) | ${names.map((n) => `hover → painted: ${n} (median / p95 ms)`).join(' | ')} | 1000 hovers: painted, event-loop delay p99 / max (ms) |`);
console.log(`| --- | --- | ${names.map(() => '---').join(' | ')} | --- |`);
for (const p of r.points) {
  console.log(`| ${p.tokens} | ${f(p.analysisMedianMs)} | ${names.map((n) => `${f(p.hovers[n].medianMs)} / ${f(p.hovers[n].p95Ms)}`).join(' | ')} | ${p.burst.painted}, ${f(p.burst.eventLoopDelayP99Ms)} / ${f(p.burst.eventLoopDelayMaxMs)} |`);
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/editor.json'), JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2) + '\n');
