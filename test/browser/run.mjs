// Browser tests: serves the repository on 127.0.0.1 (a secure context, as WebGPU needs), opens the test page
// in headless Chromium with and without WebGPU, and prints `browser: N passed, N failed`.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serve } from './server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { url, close } = await serve(root, '/out/test/browser/page.js');

let passed = 0;
let failed = 0;
for (const mode of ['webgpu', 'nogpu']) {
  const context = await launchChromium({ webgpu: mode === 'webgpu' });
  const consoleErrors = [];
  const diagnostics = [];
  try {
    const p = context.pages()[0] ?? (await context.newPage());
    p.on('pageerror', (e) => consoleErrors.push(String(e)));
    p.on('console', (m) => m.type() === 'error' && diagnostics.push(`console: ${m.text()}`));
    p.on("requestfinished", async (r) => { const resp = await r.response(); if (resp && resp.status() >= 400) diagnostics.push(`HTTP ${resp.status()} ${r.url()}`); });
    p.on('requestfailed', (r) => diagnostics.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
    await p.goto(url);
    await p.waitForFunction(() => typeof window.runTests === 'function', null, { timeout: 30000 }).catch(() => {
      throw new Error('the test page did not define window.runTests (did out/test/browser/page.js build and load?)');
    });
    const results = await p.evaluate(([m, grep]) => window.runTests(m, grep), [mode, process.env.ATTN_BROWSER_GREP ?? '']);
    if (results.length === 0 && !process.env.ATTN_BROWSER_GREP) throw new Error(`the page ran no tests in mode ${mode}`);
    for (const r of results) {
      if (r.ok) passed++;
      else failed++;
      console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${Math.round(r.ms)} ms)${r.note ? `\n       measured: ${r.note}` : ''}${r.ok ? '' : '\n       ' + r.error.split('\n').slice(0, 5).join('\n       ')}`);
    }
    if (consoleErrors.length) {
      failed++;
      console.log(`  FAIL [${mode}] page errors: ${consoleErrors.join('; ')}`);
    }
  } catch (e) {
    failed++;
    console.log(`  FAIL [${mode}] could not run the page: ${e.message.split('\n')[0]}`);
    for (const d of [...consoleErrors, ...diagnostics]) console.log(`       ${d}`);
  } finally {
    await context.close();
  }
}
close();
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
