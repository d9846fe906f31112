// Small helpers for driving the VS Code workbench with Playwright.
export const webviewFrame = (page) => page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');

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
