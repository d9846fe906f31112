// Part 3 of the e2e runner: the packaged extension, built with `npm run package`, installed from its .vsix into a
// fresh code-server and used in a browser without WebGPU (the wasm path), as someone who installs it would.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../browser/chromium.mjs';
import { ROOT, freshProfile, installVsix, startCodeServer, workbenchUrl } from '../../scripts/codeServer.mjs';
import { canvasInk, explorerFrame, openFile, runFromPalette, waitForWorkbench, webviewFrame } from './workbench.mjs';

export async function vsixTests({ check, shots, workspace }) {
  const vsix = join(ROOT, 'dist-vsix/attention-inspector.vsix');
  let page;
  let context;
  let cs;
  try {
    await check('the .vsix packages offline, installs into code-server, and its panel reports the wasm backend without WebGPU', async () => {
      rmSync(vsix, { force: true });
      execFileSync('npm', ['run', '--silent', 'package'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      if (!existsSync(vsix)) throw new Error('vsce wrote no .vsix');
      const profile = freshProfile({ theme: 'Default Light Modern' });
      await installVsix(profile, vsix);
      cs = await startCodeServer({ profile });
      context = await launchChromium({ webgpu: false });
      page = context.pages()[0];
      await page.goto(workbenchUrl(cs.url, { folder: workspace }));
      await waitForWorkbench(page);
      await openFile(page, 'sample.py');
      await runFromPalette(page, 'Attention Inspector: Check Runtime (WebGPU / WebAssembly)');
      const frame = webviewFrame(page);
      await frame.locator('[data-testid=probe-verdict]', { hasText: 'matches the JavaScript reference' }).waitFor({ timeout: 90_000 });
      const badge = await frame.locator('[data-testid=backend-badge]').innerText();
      if (badge !== 'WebAssembly') throw new Error(`badge says ${badge}`);
      const reason = await frame.locator('[data-testid=no-webgpu-reason]').innerText();
      if (reason.length < 10) throw new Error(`no reason shown for missing WebGPU: "${reason}"`);
      await page.screenshot({ path: join(shots, 'panel-vsix-wasm-light.png') });
    });
    if (!page) return;

    await check('the installed extension analyses a file with its bundled model (dist/models, one shared tokenizer)', async () => {
      await runFromPalette(page, 'Attention Inspector: Analyze Document');
      await page.locator('.statusbar-item', { hasText: /twin-diff · wasm · \d+ tok$/ }).first().waitFor({ timeout: 180_000 });
      await webviewFrame(page).locator('[data-testid=tokens]').waitFor({ timeout: 30_000 });
    });

    await check('the installed extension opens the explorer (dist/explorer.js, media/explorer.css) and draws the map', async () => {
      await webviewFrame(page).locator('[data-testid=open-explorer]').click();
      const ex = explorerFrame(page);
      await ex.locator('[data-testid=explorer-source]', { hasText: 'sample.py' }).waitFor({ timeout: 60_000 });
      const end = Date.now() + 60_000;
      while ((await canvasInk(ex, 'explorer-map-twin-diff').catch(() => 0)) < 2000) {
        if (Date.now() > end) throw new Error('the explorer map stayed blank');
        await page.waitForTimeout(300);
      }
      // The stylesheet loaded: the legend's swatches are laid out as flex items.
      const display = await ex.locator('[data-testid=legend]').evaluate((e) => getComputedStyle(e).display);
      if (display !== 'flex') throw new Error(`media/explorer.css did not load (legend display ${display})`);
      await runFromPalette(page, 'View: Close All Editors');
      await openFile(page, 'sample.py');
    });

    await check("the extension's details page shows its icon and the README's images", async () => {
      await page.keyboard.press('Control+Shift+X'); // the Extensions view, focus in its search box
      await page.locator('.extensions-viewlet').waitFor({ timeout: 20_000 });
      await page.keyboard.type('@installed Attention Inspector');
      await page.locator('.extensions-viewlet .monaco-list-row', { hasText: 'Attention Inspector' }).first().click({ timeout: 30_000 });
      const editor = page.locator('.extension-editor');
      await editor.waitFor({ timeout: 30_000 });
      // The icon (package.json "icon": a PNG served from the installed extension's folder).
      await page.waitForFunction(() => {
        const img = document.querySelector('.extension-editor .icon-container img.icon');
        return img instanceof HTMLImageElement && img.complete && img.naturalWidth === 128;
      }, undefined, { timeout: 30_000 });
      // The README renders in a nested webview; every image in it must have loaded (the CSP allows https: and data:).
      const deadline = Date.now() + 60_000;
      let seen = [];
      while (Date.now() < deadline) {
        seen = [];
        for (const f of page.frames()) {
          const imgs = await f
            .evaluate(() => (document.querySelector('h1')?.textContent?.includes('Attention Inspector') ? [...document.images].map((i) => ({ alt: i.alt.slice(0, 30), w: i.naturalWidth, done: i.complete })) : null))
            .catch(() => null);
          if (imgs && imgs.length) seen = imgs;
        }
        if (seen.length >= 2 && seen.every((i) => i.done && i.w > 0)) break;
        await page.waitForTimeout(500);
      }
      await page.screenshot({ path: join(shots, 'vsix-details-page.png') });
      if (seen.length < 2 || !seen.every((i) => i.done && i.w > 0)) throw new Error(`README images on the details page: ${JSON.stringify(seen)}`);
    });
  } finally {
    await context?.close();
    await cs?.stop();
  }
}
