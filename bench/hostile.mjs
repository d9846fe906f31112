// Runs bench/hostileBench.ts inside the real extension host (code-server + headless Chromium, wasm backend) and prints
// the tables for BENCHMARKS.md: host event-loop stalls on hostile documents, and memory over 200 analyses.
//   node scripts/build.mjs && node bench/hostile.mjs        (ATTN_BENCH_RUNS=5, ATTN_BENCH_ANALYSES=200)
// Run it alone on the machine: the stall figures are the point, and other processes add their own.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../test/browser/chromium.mjs';
import { ROOT, startCodeServer, workbenchUrl } from '../scripts/codeServer.mjs';

await esbuild.build({ entryPoints: [join(ROOT, 'bench/hostileBench.ts')], outfile: join(ROOT, 'out/bench/hostile/index.js'), bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], sourcemap: true, logLevel: 'warning' });
const out = join(ROOT, 'out/bench/hostile-results.json');
rmSync(out, { force: true });
const sync = mkdtempSync(join(tmpdir(), 'attn-bench-sync-'));
const cs = await startCodeServer({ env: { ATTN_BENCH_RESULTS: out, ATTN_BENCH_SYNC: sync } });
const context = await launchChromium();
let polling = true;
try {
  const page = context.pages()[0];
  page.on('console', (m) => { if (m.type() === 'error' || process.env.ATTN_BENCH_VERBOSE) console.log(`[page ${m.type()}] ${m.text().slice(0, 300)}`); });
  const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', resolve));
  await page.goto(workbenchUrl(cs.url, { folder: join(ROOT, 'test/fixtures/workspace'), extensionDevelopmentPath: ROOT, extensionTestsPath: join(ROOT, 'out/bench/hostile/index') }));
  // Answers the extension host's requests for the webview's heap: finds the panel's frame, collects garbage there
  // through the DevTools protocol and reads its JS heap (Runtime.getHeapUsage).
  const answer = async (label) => {
    let used = null;
    let source = null;
    for (const f of page.frames()) {
      const isPanel = await f.evaluate(() => !!document.querySelector('[data-testid=backend-badge]')).catch(() => false);
      if (!isPanel) continue;
      let session;
      try {
        session = await context.newCDPSession(f);
        source = 'the panel frame';
      } catch {
        session = await context.newCDPSession(page); // the frame shares its parent's process: the whole page's heap
        source = 'the page holding the panel (same process)';
      }
      await session.send('HeapProfiler.collectGarbage');
      await session.send('HeapProfiler.collectGarbage');
      used = (await session.send('Runtime.getHeapUsage')).usedSize;
      await session.detach();
      break;
    }
    writeFileSync(join(sync, `heap-${label}.json`), JSON.stringify({ usedBytes: used, source }));
  };
  const poll = (async () => {
    while (polling) {
      for (const f of readdirSync(sync)) if (f.startsWith('ask-')) {
        rmSync(join(sync, f));
        await answer(f.slice(4));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 1_500_000))]);
  polling = false;
  await poll;
  if (!existsSync(out)) throw new Error(`the benchmark wrote no results (exit ${code}):\n${cs.log().slice(-3000)}`);
} finally {
  polling = false;
  await context.close();
  await cs.stop();
  rmSync(sync, { recursive: true, force: true });
}
const r = JSON.parse(readFileSync(out, 'utf8'));
if (r.error) throw new Error(`the benchmark failed: ${r.error}`);
console.log(JSON.stringify(r, null, 2));
const f = (v) => (v === null || v === undefined ? '—' : v.toFixed(1));
console.log(`load average (1, 5, 15 min) at the start ${r.loadAverage.start.map(f).join(', ')}, at the end ${r.loadAverage.end.map(f).join(', ')}`);
console.log('\n| document | chars | tokens (analysed) | first analysis (ms) | analysis + paint: longest host stall, median / max of runs (ms) | duration (ms) | as before: window tokenized on the host (ms) | as before: whole text tokenized on the host (ms) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [k, v] of Object.entries(r.stalls)) {
  console.log(`| ${k} | ${v.chars} | ${v.documentTokens} (${v.analysedTokens}) | ${f(v.firstAnalysisMs)} | ${f(v.analysisAndPaint.stallMedianMs)} / ${f(v.analysisAndPaint.stallMaxMs)} | ${f(v.analysisAndPaint.durationMedianMs)} | ${f(v.inlineWindowStallMedianMs)} | ${f(v.inlineWholeTextStallMedianMs)} |`);
}
console.log(`\n1,000 hovers in one second: longest host stall per run ${r.hovers.stallMaxMsPerRun.map(f).join(', ')} ms`);
const m = r.memory;
console.log(`\n| ${m.analyses} analyses of ${m.tokens} tokens (${f(m.seconds)} s) | before (MB) | after (MB) | growth per analysis (KB) |`);
console.log('| --- | --- | --- | --- |');
console.log(`| extension host heap (after GC) | ${f(m.host.beforeMB)} | ${f(m.host.afterMB)} | ${f(m.host.growthPerAnalysisKB)} |`);
console.log(`| panel webview JS heap (after GC) | ${f(m.webview?.beforeMB)} | ${f(m.webview?.afterMB)} | ${f(m.webview?.growthPerAnalysisKB)} |`);
console.log(`host heap every 50 analyses (MB): ${m.host.every50MB.map(f).join(', ')}`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/hostile.json'), JSON.stringify({ date: new Date().toISOString(), ...r }, null, 2) + '\n');
