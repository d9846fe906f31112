// Does the editor stay usable while a long file is analysed? In code-server the panel's webview is a same-site frame,
// so it runs on the workbench's own thread: whatever the panel does in one task, the editor waits for. This bench opens
// a long file (the extension's own sources) in a fresh code-server window with attentionInspector.maxTokens = T,
// presses Analyze Document, and records the gaps between the workbench page's tasks (a MessageChannel ping-pong in
// the page) from the key until SETTLE_MS after the analysis is shown, when the panel has drawn its grid, heatmap and
// statistics. Backend: auto (wasm on this machine's software adapter).
//   node scripts/build.mjs && node bench/responsiveness.mjs [T ...]     (results in bench/results/responsiveness.json)
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../test/browser/chromium.mjs';
import { ROOT, startCodeServer, workbenchUrl } from '../scripts/codeServer.mjs';
import { openFile, runFromPalette, waitForWorkbench, extensionLog } from '../test/e2e/workbench.mjs';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SETTLE_MS = 30_000;
const FILE = 'sources.ts';

function sources() {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) out.push(readFileSync(join(dir, e.name), 'utf8'));
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'webview'));
  return out.join('\n');
}


const points = [];
for (const T of sizes.length ? sizes : [2048, 8192]) {
  const cs = await startCodeServer();
  const context = await launchChromium();
  try {
    const page = context.pages()[0];
    const folder = mkdtempSync(join(tmpdir(), 'attn-responsive-'));
    writeFileSync(join(folder, FILE), sources());
    mkdirSync(join(folder, '.vscode'));
    writeFileSync(join(folder, '.vscode/settings.json'), JSON.stringify({ 'attentionInspector.maxTokens': T }));
    await page.goto(workbenchUrl(cs.url, { folder, extensionDevelopmentPath: ROOT }));
    await waitForWorkbench(page);
    await openFile(page, FILE);
    await page.waitForTimeout(2000);
    await page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__gaps = [];
      w.__stop = false;
      const c = new MessageChannel();
      let last = performance.now();
      c.port1.onmessage = () => {
        const now = performance.now();
        w.__gaps.push([last, now - last]);
        last = now;
        if (!w.__stop) c.port2.postMessage(0);
      };
      c.port2.postMessage(0);
    });
    const t0 = await page.evaluate(() => performance.now());
    await runFromPalette(page, 'Attention Inspector: Analyze Document');
    const status = page.locator('.statusbar-item', { hasText: new RegExp(` ${T} tok$`) }).first();
    await status.waitFor({ timeout: 600_000 });
    const shown = await page.evaluate(() => performance.now());
    await page.waitForTimeout(SETTLE_MS);
    const gaps = await page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__stop = true;
      return w.__gaps;
    });
    // Same-site frames share the page's thread; a frame in its own process would be a target of type "iframe".
    const cdp = await context.newCDPSession(page);
    const oopifs = (await cdp.send('Target.getTargets')).targetInfos.filter((t) => t.type === 'iframe').length;
    const summary = (from, to) => {
      const d = gaps.filter(([at, g]) => at + g > from && at < to).map(([, g]) => g).sort((a, b) => b - a);
      return { longestMs: Math.round(d[0] ?? 0), over100: d.filter((g) => g > 100).length, over500: d.filter((g) => g > 500).length, blockedMs: Math.round(d.filter((g) => g > 50).reduce((s, g) => s + g, 0)) };
    };
    const log = extensionLog(cs.profile.userData);
    const analysed = log.find((l) => / analysis \d+: \d+ tokens with /.test(l)) ?? '';
    const late = log.filter((l) => /took longer than|no longer waited/.test(l));
    const point = { T, status: (await status.innerText()).trim(), keyToShownMs: Math.round(shown - t0), forwardLine: analysed.replace(/^.*\] analysis/, 'analysis'), sameThreadFrames: oopifs === 0, untilShown: summary(t0, shown), afterShown: summary(shown, shown + SETTLE_MS), lateAnswers: late.length };
    points.push(point);
    console.log(JSON.stringify(point));
  } finally {
    await context.close();
    await cs.stop();
  }
}
console.log('\n| T | key → analysis shown (ms) | until shown: longest gap / gaps > 500 ms / time in gaps > 50 ms (ms) | 30 s after: longest gap / gaps > 500 ms / time in gaps > 50 ms (ms) | late answers |');
console.log('| --- | --- | --- | --- | --- |');
for (const p of points) console.log(`| ${p.T} | ${p.keyToShownMs} | ${p.untilShown.longestMs} / ${p.untilShown.over500} / ${p.untilShown.blockedMs} | ${p.afterShown.longestMs} / ${p.afterShown.over500} / ${p.afterShown.blockedMs} | ${p.lateAnswers} |`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/responsiveness.json'), JSON.stringify({ date: new Date().toISOString(), settleMs: SETTLE_MS, points }, null, 2) + '\n');
