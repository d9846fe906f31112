// The explorer (a webview panel beside the editor) in the real workbench, as a user meets it: opened from the palette
// on the retrieval fixture, its map hovered, clicked, zoomed with the keyboard, a head opened from the model view,
// both twins side by side with Measure's masses, and screenshots in dark, light and high-contrast themes.
import { join } from 'node:path';
import { canvasInk, explorerFrame, openFile, runFromPalette, setTheme, webviewFrame, wordPoint } from './workbench.mjs';

const statusTokens = (page, model) => page.locator('.statusbar-item', { hasText: new RegExp(`${model} · WebGPU · \\d+ tok$`) }).first().waitFor({ timeout: 240_000 });

async function waitInk(frame, testId, min, ms = 120_000) {
  const end = Date.now() + ms;
  for (;;) {
    const n = await canvasInk(frame, testId).catch(() => 0);
    if (n >= min) return n;
    if (Date.now() > end) throw new Error(`${testId} stayed blank (${n} ink pixels)`);
    await new Promise((r) => setTimeout(r, 400));
  }
}

export async function explorerTests(page, check, shots) {
  const ex = explorerFrame(page);
  const side = webviewFrame(page);
  await check('F1 → Open Explorer beside the retrieval text: the head map with labelled axes, its legend and the model view', async () => {
    // The keyboard belongs to the workbench, not to a webview that had focus (Ctrl+P would go there).
    await page.locator('.monaco-editor .view-lines').first().click();
    await openFile(page, 'retrieval.txt');
    await runFromPalette(page, 'Attention Inspector: Analyze Document');
    await statusTokens(page, 'twin-diff');
    await runFromPalette(page, 'Attention Inspector: Open Explorer');
    await ex.locator('[data-testid=explorer-source]', { hasText: 'retrieval.txt' }).waitFor({ timeout: 60_000 });
    await waitInk(ex, 'explorer-map-twin-diff', 2000);
    const legend = await ex.locator('[data-testid=legend]').innerText();
    if (!/−0\.\d+/.test(legend) || !/\b0\.\d{3}\b/.test(legend)) throw new Error(`legend without its numbers: ${legend}`);
    // The model view: one thumbnail button per layer and head, with badges.
    await ex.locator('[data-testid="explorer-grid-twin-diff-L3h1"]').waitFor({ timeout: 60_000 });
    await ex.locator('[data-testid="explorer-grid-twin-diff-L3h1"] .badge-line', { hasText: /H \d\.\d\d · neg \d\.\d\d/ }).waitFor({ timeout: 120_000 });
  });
  await check('the explorer map: a cell’s tooltip gives query, key, weight, A1 and λ·A2; a click focuses its token in the editor and the side panel', async () => {
    const canvas = ex.locator('canvas[data-testid="explorer-map-twin-diff"]');
    const box = await canvas.boundingBox();
    // A cell well inside the lower triangle (the plot starts 100 px from the left and 76 px from the top).
    const plot = Math.min(box.width - 104, box.height - 80);
    const x = 100 + plot * 0.3;
    const y = 76 + plot * 0.8;
    await canvas.hover({ position: { x, y } });
    const tip = ex.locator('[data-testid="explorer-map-twin-diff-tooltip"]');
    await tip.filter({ hasText: /A1 -?\d\.\d{4} · λ·A2 -?\d\.\d{4}/ }).waitFor({ timeout: 30_000 });
    const text = await tip.innerText();
    if (!/query #\d+ ".*" → key #\d+ ".*": weight -?\d\.\d{4}/.test(text)) throw new Error(`tooltip: ${text}`);
    const q = Number(text.match(/query #(\d+)/)[1]);
    await canvas.click({ position: { x, y } });
    await ex.locator('[data-testid=explorer-focus]', { hasText: `#${q} ` }).waitFor({ timeout: 20_000 });
    await side.locator('[data-testid=focus]', { hasText: `#${q} ` }).waitFor({ timeout: 20_000 });
    // The focused row's decomposition: A1, λ·A2 and their difference, then the what-if views, each with its counts.
    await waitInk(ex, 'explorer-strips-twin-diff', 50);
    for (const id of ['a1', 'la2', 'a', 'whatif-rectified', 'whatif-heaviside', 'whatif-softpick', 'whatif-shift'])
      await ex.locator(`[data-testid="explorer-strips-twin-diff-${id}"]`, { hasText: /neg \d+ · zero \d+/ }).waitFor({ timeout: 30_000 });
    const title = await ex.locator('.decomposition h3').first().innerText();
    if (!title.includes(`query #${q}`) || !/λ = -?\d\.\d{3}/.test(title)) throw new Error(`strips title: ${title}`);
  });
  await check('the explorer map from the keyboard: + zooms in, arrows move the cursor cell (read out), 0 fits again', async () => {
    const canvas = ex.locator('canvas[data-testid="explorer-map-twin-diff"]');
    await canvas.focus();
    const zoom = ex.locator('.map .toolbar span').first();
    const before = await zoom.innerText();
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    const after = await zoom.innerText();
    if (parseFloat(after) < 3 * parseFloat(before)) throw new Error(`zoom ${before} → ${after}`);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    await ex.locator('[data-testid="explorer-map-twin-diff-readout"]', { hasText: /query #\d+ .* key #\d+/ }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(shots, 'explorer-zoomed-dark.png') });
    await page.keyboard.press('0');
    if ((await zoom.innerText()) !== before) throw new Error(`0 did not fit again: ${await zoom.innerText()}`);
  });
  await check('a head opened from the model view becomes the map, and the inspector’s head (side panel and tints)', async () => {
    await ex.locator('[data-testid="explorer-grid-twin-diff-L2h1"]').click();
    await ex.locator('.maps h3', { hasText: 'twin-diff: layer 2 · head 1' }).waitFor({ timeout: 20_000 });
    await side.locator('[data-testid=selection]', { hasText: 'layer 2 · head 1' }).waitFor({ timeout: 20_000 });
    if ((await ex.locator('[data-testid=explorer-head]').inputValue()) !== '1') throw new Error('the head control did not follow');
    // The mean of a layer's heads is the explorer's own choice: it stays while the focus moves.
    await ex.locator('[data-testid=explorer-head]').selectOption('mean');
    await ex.locator('.maps h3', { hasText: "twin-diff: mean of layer 2's 2 heads" }).waitFor({ timeout: 20_000 });
    // A click on another row moves the focus: the state that comes back must not undo the choice.
    const focusBefore = await ex.locator('[data-testid=explorer-focus]').innerText();
    const canvas = ex.locator('canvas[data-testid="explorer-map-twin-diff"]');
    const box = await canvas.boundingBox();
    const plot = Math.min(box.width - 104, box.height - 80);
    await canvas.click({ position: { x: 100 + plot * 0.2, y: 76 + plot * 0.55 } });
    const end = Date.now() + 20_000;
    while ((await ex.locator('[data-testid=explorer-focus]').innerText()) === focusBefore) {
      if (Date.now() > end) throw new Error('the click did not move the focus');
      await page.waitForTimeout(200);
    }
    await page.waitForTimeout(500);
    const title = await ex.locator('.maps h3').first().innerText();
    if (!title.includes('mean of layer 2')) throw new Error(`a focus move undid the explorer's choice: ${title}`);
    // A head chosen in the side panel's grid becomes the explorer's.
    await side.locator('canvas[data-testid="grid-twin-diff"]').click({ position: { x: 22 + 0 * 62 + 28, y: 22 + 1 * 62 + 28 } }); // layer 1, head 0
    await ex.locator('.maps h3', { hasText: 'twin-diff: layer 1 · head 0' }).waitFor({ timeout: 20_000 });
    if ((await ex.locator('[data-testid=explorer-layer]').inputValue()) !== '1') throw new Error('the layer control did not follow the side panel');
  });
  await check('both twins side by side in the explorer, one colour scale, with Measure’s masses as bars; screenshots in three themes', async () => {
    await runFromPalette(page, 'Attention Inspector: Compare With Twin');
    await waitInk(ex, 'explorer-map-twin-softmax', 2000, 240_000);
    const w = await wordPoint(page, 'access code for the north gate is', 'quartz');
    await page.mouse.dblclick(w.x, w.y);
    await runFromPalette(page, 'Attention Inspector: Measure Attention To Selection');
    for (const m of ['twin-diff', 'twin-softmax']) await ex.locator(`[data-testid="mass-${m}-answer"]`).waitFor({ timeout: 120_000 });
    const masses = await ex.locator('[data-testid=masses]').innerText();
    if (!/twin-diff[\s\S]*answer[\s\S]*\d\.\d{3}[\s\S]*twin-softmax/.test(masses)) throw new Error(`masses: ${masses}`);
    await ex.locator('[data-testid="explorer-strips-twin-softmax-a"]').waitFor({ timeout: 60_000 });
    // The explorer's group takes the window for the pictures: the twins' maps side by side, then their strips.
    // A double-click on its tab expands the editor group (VS Code's default for workbench.editor.doubleClickTabToToggleEditorGroupSizes).
    const tab = page.locator('.tab', { hasText: 'Attention Explorer' }).first();
    await tab.dblclick();
    const shoot = async (name) => {
      await page.waitForTimeout(1500);
      await waitInk(ex, 'explorer-map-twin-diff', 2000);
      await waitInk(ex, 'explorer-map-twin-softmax', 2000);
      await ex.locator('[data-testid=explorer-header]').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(shots, `explorer-twins-${name}.png`) });
      await ex.locator('.decomposition').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(shots, `explorer-strips-${name}.png`) });
    };
    await shoot('dark');
    for (const [theme, name] of [['Light Modern', 'light'], ['Dark High Contrast', 'hc']]) {
      await setTheme(page, theme);
      await shoot(name);
    }
    await setTheme(page, 'Dark Modern');
    await tab.dblclick();
    // The keyboard back to the text editor: a webview that has focus takes it back from a quick input opened meanwhile.
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.waitForTimeout(500);
    await runFromPalette(page, 'Attention Inspector: Stop Comparing With Twin');
    // Only the explorer closes (its tab's close button): the texts stay as the next tests expect them.
    await tab.hover();
    await tab.locator('.codicon-close').first().click();
    await page.locator('.tab', { hasText: 'Attention Explorer' }).waitFor({ state: 'detached', timeout: 20_000 });
    // inspect.py is open in a tab when the whole UI suite runs (the tests after this one use it), not when only these run.
    const inspectTab = page.locator('.tab', { hasText: 'inspect.py' }).first();
    if (await inspectTab.count()) await inspectTab.click();
    else await openFile(page, 'inspect.py');
    await page.locator('.tab.active', { hasText: 'inspect.py' }).first().waitFor({ timeout: 20_000 });
  });
}
