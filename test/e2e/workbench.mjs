import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
// Small helpers for driving the VS Code workbench with Playwright.
// The side panel is a webview view; the explorer is a webview panel in the editor area (its own iframe).
export const webviewFrame = (page) => page.frameLocator('iframe.webview[src*="purpose=webviewView"]').frameLocator('iframe#active-frame');
export const explorerFrame = (page) => page.frameLocator('iframe.webview:not([src*="purpose=webviewView"])').frameLocator('iframe#active-frame');

export async function waitForWorkbench(page) {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  // The explorer appears once the folder is opened and extensions have started loading.
  await page.locator('.explorer-viewlet, .part.sidebar').first().waitFor({ timeout: 90_000 });
}

/** Runs a command by its palette title through F1, as a user would. */
export async function runFromPalette(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 20_000 });
  await input.fill(`>${title}`);
  // Pick the row whose label is exactly the title: Enter would take whichever row the fuzzy match ranks first.
  const item = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(title)}$`) }) }).first();
  await item.waitFor({ timeout: 20_000 });
  await item.click();
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 20_000 });
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 20_000 });
  await page.keyboard.press('Enter');
  await page.locator(`.tab[aria-label*="${name}"]`).first().waitFor({ timeout: 20_000 });
}

/** Switches the colour theme through the palette's theme picker, as a user would. */
export async function setTheme(page, label) {
  // The theme picker can open slowly on a loaded machine; a second try reopens it.
  for (let attempt = 0; ; attempt++) {
    await runFromPalette(page, 'Preferences: Color Theme');
    const input = page.locator('.quick-input-widget input');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first();
    try {
      await page.locator('.quick-input-widget input[placeholder*="Select Color Theme"]').waitFor({ timeout: 15_000 });
      await input.fill(label);
      await row.waitFor({ timeout: 15_000 });
      await row.click();
      await page.waitForTimeout(500);
      return;
    } catch (e) {
      if (attempt >= 1) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/** Picks the row of the open quick pick whose label is exactly `label`. */
export async function pickQuickItem(page, label) {
  const row = page
    .locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(label)}$`) }) })
    .first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

/** Background colours (as "r,g,b") and boxes of the editor's decoration overlays. */
export async function decorationColours(page) {
  return page.locator('.monaco-editor .view-overlays .cdr').evaluateAll((els) =>
    els
      .map((e) => {
        const m = getComputedStyle(e).backgroundColor.match(/rgba?\(([^)]+)\)/);
        const r = e.getBoundingClientRect();
        return m ? { rgb: m[1].split(',').slice(0, 3).map((x) => x.trim()).join(','), alpha: Number(m[1].split(',')[3] ?? 1), box: `${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.width)}` } : null;
      })
      .filter((x) => x && x.alpha > 0),
  );
}

/** Number of pixels of a canvas inside the panel that differ from its top-left pixel. */
export async function canvasInk(frame, testId) {
  return frame.locator(`canvas[data-testid="${testId}"]`).evaluate((c) => {
    const ctx = c.getContext('2d');
    if (!ctx || c.width === 0) return 0;
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) n++;
    return n;
  });
}

/** Screen point at the middle of `word` inside the first rendered editor line that contains `line`. */
export async function wordPoint(page, line, word) {
  const p = await page.evaluate(
    ([line, word]) => {
      const norm = (s) => s.replace(/\u00a0/g, ' ');
      for (const el of document.querySelectorAll('.monaco-editor .view-line')) {
        if (!norm(el.textContent).includes(line)) continue;
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const i = norm(n.textContent).indexOf(word);
          if (i < 0) continue;
          const r = document.createRange();
          r.setStart(n, i);
          r.setEnd(n, i + word.length);
          const b = r.getBoundingClientRect();
          return { x: b.left + b.width / 2, y: b.top + b.height / 2 };
        }
      }
      return null;
    },
    [line, word],
  );
  if (!p) throw new Error(`"${word}" in a line with "${line}" is not on screen`);
  return p;
}

/** Hovers `word` in the rendered editor line containing `line`, and waits for our hover card. */
export async function hoverWord(page, line, word) {
  const p = await wordPoint(page, line, word);
  await page.mouse.move(p.x - 30, p.y + 40);
  await page.mouse.move(p.x, p.y, { steps: 3 });
  await page.locator('.monaco-hover', { hasText: 'Attention Inspector' }).first().waitFor({ timeout: 60_000 });
}

/**
 * The extension's output-channel log files under a code-server user-data dir, oldest first (one per extension-host
 * window): the whole log, which the Output view shows only in part.
 */
export function extensionLogFiles(userData) {
  const found = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name === 'Attention Inspector.log') found.push(join(dir, e.name));
    }
  };
  if (existsSync(join(userData, 'logs'))) walk(join(userData, 'logs'));
  return found.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

/** The lines of every extension log file under a user-data dir. */
export function extensionLog(userData) {
  return extensionLogFiles(userData).flatMap((f) => readFileSync(f, 'utf8').split('\n')).filter(Boolean);
}
