// Runs bench/browserBench.ts in headless Chromium (with the software WebGPU adapter for the correctness check).
//   npm run bench:browser            npm run bench:browser -- 256 1024
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test/browser/chromium.mjs';
import { serve } from '../test/browser/server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lengths = process.argv.slice(2).map(Number).filter(Boolean);
const { url, close } = await serve(root, '/out/bench/browserBench.js');
const context = await launchChromium();
try {
  const page = context.pages()[0];
  await page.goto(url);
  await page.waitForFunction(() => typeof window.runBench === 'function');
  const result = await page.evaluate((Ts) => window.runBench(Ts), lengths.length ? lengths : [256, 1024, 2048]);
  console.log(JSON.stringify(result, null, 2));
  const f = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
  console.log('\n| T | forward, wasm in Chromium (ms) | rows, all heads (ms) | stats, all heads (ms) | stats / forward |\n| --- | --- | --- | --- | --- |');
  for (const p of result.points) console.log(`| ${p.T} | ${f(p.forwardWasmMs)} | ${f(p.rowsAllHeadsMs, 2)} | ${f(p.statsAllHeadsMs)} | ${f(p.statsOverForward, 2)} |`);
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/chromium.json'), JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2) + '\n');
} finally {
  await context.close();
  close();
}
