// Playwright UI tests in the real workbench: what a user sees and does, driven from the palette (F1) and the mouse.
import { join } from 'node:path';
import { launchChromium } from '../browser/chromium.mjs';
import { ROOT, workbenchUrl } from '../../scripts/codeServer.mjs';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { explorerTests } from './explorer.mjs';
import { canvasInk, hoverWord, decorationColours, extensionLog, extensionLogFiles, wordPoint, openFile, pickQuickItem, runFromPalette, setTheme, waitForWorkbench, webviewFrame } from './workbench.mjs';

/** The RGB of our warm and cool tint levels in a theme kind, from the extension's contributed colour defaults. */
function tintRgb(kind) {
  const colors = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).contributes.colors;
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(',');
  const of = (prefix) => new Set(colors.filter((c) => /positive|negative/.test(c.id) && c.id.includes(prefix)).map((c) => rgb(c.defaults[kind])));
  return { warm: of('positive'), cool: of('negative') };
}

/** The last `n` lines of the newest extension-host window's Attention Inspector log, indented; '' when there is none. */
function extensionLogTail(userData, n) {
  const newest = extensionLogFiles(userData).at(-1);
  if (!newest) return '';
  return readFileSync(newest, 'utf8').trimEnd().split('\n').slice(-n).map((l) => `         ${l.slice(0, 400)}`).join('\n');
}

/** The panel start timelines among log lines (one per page, written with its first analysis), oldest first. */
const startTimelines = (lines) => lines.filter((l) => l.includes("the panel's start, ms since its page began"));
/** A timeline's network entries: [file, start, end] in the page's clock (last two path segments, as logged). */
const timelineFiles = (line) => [...(line.split('files (start–end): ')[1] ?? '').matchAll(/([^\s,]+) (\d+)–(\d+)/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);

export async function uiTests({ dev, check: checkOnly, shots, workspace, modelsDir, explorerOnly = false }) {
  const context = await launchChromium();
  const page = context.pages()[0];
  // A failing UI test leaves a screenshot of what the user would have seen.
  const check = (name, fn) =>
    checkOnly(name, async () => {
      try {
        await fn();
      } catch (e) {
        await page.screenshot({ path: join(shots, `FAIL-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`) }).catch(() => undefined);
        await page.keyboard.press('Escape').catch(() => undefined);
        // What the extension logged (host and panel) is the first thing to read when a UI test fails in CI.
        const tail = extensionLogTail(dev.profile.userData, 25);
        if (e instanceof Error && tail) e.message += `\n       the extension's log, last lines:\n${tail}`;
        throw e;
      }
    });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(workbenchUrl(dev.url, { folder: workspace, extensionDevelopmentPath: ROOT }));
  await check('the workbench opens the fixture folder with the extension under development', async () => {
    await waitForWorkbench(page);
    await setTheme(page, 'Dark Modern');
    await openFile(page, 'sample.py');
  });
  if (explorerOnly) {
    await runFromPalette(page, 'Attention Inspector: Show Panel');
    // Once the panel has loaded it no longer takes the keyboard from the quick open that follows.
    await webviewFrame(page).locator('[data-testid=backend-badge]').waitFor({ timeout: 60_000 });
    await page.waitForTimeout(1000);
    await explorerTests(page, check, shots);
    await context.close();
    return;
  }
  await check('F1 → "Attention Inspector: Show Panel" shows the panel with a WebGPU badge and the adapter', async () => {
    await runFromPalette(page, 'Attention Inspector: Show Panel');
    const frame = webviewFrame(page);
    await frame.locator('[data-testid=backend-badge]', { hasText: 'WebGPU' }).waitFor({ timeout: 60_000 });
    const adapter = await frame.locator('[data-testid=adapter]').innerText();
    if (!/swiftshader|google/i.test(adapter)) throw new Error(`adapter shown as "${adapter}"`);
  });
  await check('F1 → "Check Runtime" runs the probe on WebGPU and the panel shows it matches the reference', async () => {
    await runFromPalette(page, 'Attention Inspector: Check Runtime (WebGPU / WebAssembly)');
    const frame = webviewFrame(page);
    await frame.locator('[data-testid=probe-verdict]', { hasText: 'matches the JavaScript reference' }).waitFor({ timeout: 90_000 });
    const ranOn = await frame.locator('[data-testid=probe-backend]').innerText();
    if (ranOn !== 'webgpu') throw new Error(`probe ran on ${ranOn}`);
    const err = Number(await frame.locator('[data-testid=probe-error]').innerText());
    if (!(err < 1e-5)) throw new Error(`max error ${err}`);
    await page.locator('.notifications-toasts', { hasText: 'Attention Inspector runs on WebGPU' }).waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(shots, 'panel-webgpu-dark.png') });
  });
  await check('the status bar names the backend', async () => {
    await page.locator('.statusbar-item', { hasText: 'WebGPU' }).first().waitFor({ timeout: 20_000 });
  });
  await check('before any analysis the palette offers Analyze Document but not Clear, Export, Choose Layer and Head or Measure', async () => {
    const titles = await paletteTitles(page, 'Attention Inspector: ');
    for (const t of ['Analyze Document', 'Show Panel', 'Follow Cursor: Turn Off', 'Compare With Twin']) if (!titles.includes(`Attention Inspector: ${t}`)) throw new Error(`palette lacks ${t}: ${titles.join(' | ')}`);
    for (const t of ['Clear', 'Open Explorer', 'Export (PNG / CSV / JSON)', 'Choose Layer and Head', 'Measure Attention To Selection', 'Follow Cursor: Turn On', 'Stop Comparing With Twin', 'Follow Cursor (Toggle)', 'Compare With Twin (Toggle)'])
      if (titles.includes(`Attention Inspector: ${t}`)) throw new Error(`palette offers ${t} without an analysis: ${titles.join(' | ')}`);
  });
  await check('F1 → "Attention Inspector: Show Log" shows the output channel with the runtime lines', async () => {
    await runFromPalette(page, 'Attention Inspector: Show Log');
    await page.locator('.output-view, .panel', { hasText: 'webview ready: backend webgpu' }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'log-dark.png') });
  });
  await inspectorTests(page, check, shots, 'dark', modelsDir);
  await check("the panel's page head ran its inline early script (allowed by the CSP's nonce) before the panel's script had arrived, and the model's graph came from its load, downloaded at most once", async () => {
    const line = startTimelines(extensionLog(dev.profile.userData))[0];
    if (!line) throw new Error('no panel start timeline in the log');
    const early = /early script (\d+)/.exec(line);
    const script = timelineFiles(line).find(([f]) => f === 'dist/webview.js');
    if (!early || !script || !(Number(early[1]) < script[2])) throw new Error(`the early script should have run before webview.js arrived: ${line}`);
    if (!line.includes("its load started in the page's head")) throw new Error(`the model's graph should come from the load the page's head started: ${line}`);
    // (The first page of this window may have been replaced by another already: the graph then comes from the cache.)
    if (timelineFiles(line).filter(([f]) => f === 'twin-diff/model.onnx').length > 1) throw new Error(`the graph was downloaded twice: ${line}`);
  });
  await explorerTests(page, check, shots);
  /** Switches theme, analyses, hovers, and checks the tints are that theme kind's contributed colours. */
  const inTheme = async (theme, kind, shot) => {
    await setTheme(page, theme);
    await runFromPalette(page, 'Attention Inspector: Analyze Document');
    await statusTokens(page, 'twin-diff');
    await hoverWord(page, 'weights = softmax', 'softmax');
    await expectTints(page, kind);
    await page.screenshot({ path: join(shots, `editor-highlights-${shot}.png`) });
  };
  await check('light theme: the same highlights and panel in light colours', async () => {
    await inTheme('Light Modern', 'light', 'light');
    const frame = webviewFrame(page);
    await frame.locator('[data-testid=focus]', { hasText: '#' }).waitFor({ timeout: 30_000 });
    if ((await canvasInk(frame, 'grid-twin-diff')) < 500) throw new Error('grid is blank');
    await page.screenshot({ path: join(shots, 'panel-light.png') });
  });
  await check('high-contrast theme: tints use the high-contrast colours', async () => {
    await inTheme('Dark High Contrast', 'highContrast', 'hc');
    await page.keyboard.press('Escape');
  });
  await check('opened as `npm start` opens it (the samples folder, analyzeOnOpen in its settings), the sample shows an analysis', async () => {
    const timelinesBefore = startTimelines(extensionLog(dev.profile.userData)).length;
    await page.goto(workbenchUrl(dev.url, { folder: join(ROOT, 'samples'), extensionDevelopmentPath: ROOT, openFile: join(ROOT, 'samples/long_range.py') }));
    await waitForWorkbench(page);
    await statusTokens(page, 'twin-diff');
    // A new window in the same browser: the panel read the model and ORT's binary from the cache the first window
    // filled (the same build, so the same stamp), and downloaded neither.
    // (Polled: the panel's log lines reach the host's log file beside the analysis, not before it.)
    for (const end = Date.now() + 30_000; ; await page.waitForTimeout(250)) {
      const log = extensionLog(dev.profile.userData);
      const timelines = startTimelines(log);
      const line = timelines.length > timelinesBefore ? timelines.at(-1) ?? '' : '';
      const fromCache = line.includes('graph from the cache') && line.includes('manifest from the cache') && !timelineFiles(line).some(([f]) => /model\.onnx|\.wasm\.gz/.test(f));
      const binary = log.some((l) => /its binary [\d.]+ MB read from the panel's cache/.test(l));
      if (fromCache && binary) break;
      if (Date.now() > end) throw new Error(`the second window's panel should read the graph and ORT's binary from the cache (binary from the cache: ${binary}): ${line}`);
    }
    const frame = webviewFrame(page);
    await frame.locator('[data-testid=source]', { hasText: 'long_range.py' }).waitFor({ timeout: 60_000 });
    await frame.locator('[data-testid=focus]', { hasText: '#' }).waitFor({ timeout: 30_000 });
    await expectTints(page, 'highContrast');
    const end = Date.now() + 120_000;
    while ((await canvasInk(frame, 'heatmap-twin-diff')) < 200) {
      if (Date.now() > end) throw new Error('the heatmap stayed blank');
      await page.waitForTimeout(500);
    }
    await page.screenshot({ path: join(shots, 'npm-start-sample.png') });
    // Both twins on the answer asked at the end: the README's side-by-side picture.
    await runFromPalette(page, 'Attention Inspector: Compare With Twin');
    await frame.locator('section.model[data-model="twin-softmax"]').waitFor({ timeout: 240_000 });
    await hoverWord(page, 'It is 55203', '55203');
    await page.locator('.monaco-hover', { hasText: 'twin-softmax' }).first().waitFor({ timeout: 60_000 });
    await page.screenshot({ path: join(shots, 'npm-start-sample-twins.png') });
    await page.keyboard.press('Escape');
    await runFromPalette(page, 'Attention Inspector: Stop Comparing With Twin');
  });
  await check('Welcome: Open Walkthrough… → Get Started with Attention Inspector: five steps; Open the Sample opens it, checks the step, and its analysis checks the next', async () => {
    await runFromPalette(page, 'Welcome: Open Walkthrough...');
    await pickQuickItem(page, 'Get Started with Attention Inspector');
    const steps = page.locator('.getting-started-step');
    const step = (title) => steps.filter({ has: page.locator('.step-title', { hasText: new RegExp(`^${title}$`) }) }).first();
    for (const t of ['Open the sample', 'Analyze the document', 'Hover a token', 'Compare the twins', 'Measure attention to a selection']) await step(t).waitFor({ timeout: 30_000 });
    if ((await steps.count()) !== 5) throw new Error(`${await steps.count()} steps`);
    await page.waitForTimeout(5000); // the step's markdown renders in a webview beside the list
    await page.screenshot({ path: join(shots, 'walkthrough.png') });
    await step('Open the sample').getByText('Open the Sample', { exact: true }).first().click();
    // It opens beside the walkthrough; this window's folder (samples/) turns analyzeOnOpen on, so it is analyzed.
    await page.locator('.tab', { hasText: /Untitled-\d/ }).first().waitFor({ timeout: 20_000 });
    await step('Open the sample').locator('.codicon-getting-started-step-checked').waitFor({ timeout: 20_000 });
    await step('Analyze the document').click();
    await step('Analyze the document').getByText('Analyze Document', { exact: true }).first().click();
    await step('Analyze the document').locator('.codicon-getting-started-step-checked').waitFor({ timeout: 20_000 });
    await page.locator('.statusbar-item', { hasText: /twin-diff · WebGPU · \d+ tok$/ }).first().waitFor({ timeout: 240_000 });
    await page.waitForTimeout(3000);
    await page.screenshot({ path: join(shots, 'walkthrough-steps-done.png') });
  });
  await check('no uncaught errors in the workbench page', async () => {
    const ours = pageErrors.filter((e) => /attention|webview\.js|ort/i.test(e));
    if (ours.length) throw new Error(ours.join('\n'));
  });
  await context.close();
}

/** The titles the palette lists for `prefix` (F1, typed, read, closed). */
async function paletteTitles(page, prefix) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 20_000 });
  await input.fill(`>${prefix}`);
  await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 20_000 });
  await page.waitForTimeout(500);
  const titles = await page.locator('.quick-input-list .monaco-list-row .label-name').allInnerTexts();
  await page.keyboard.press('Escape');
  return titles.map((t) => t.replace(/\s+/g, ' ').trim());
}

/** The Attention view's title-bar actions as shown (aria-labels), once `ready(labels)` holds or after 20 s. */
async function titleBarActions(page, ready = () => true) {
  const end = Date.now() + 20_000;
  for (;;) {
    const labels = await page
      .locator('.part.sidebar .composite.title .title-actions .action-label, .part.sidebar .pane-header .actions .action-label')
      .evaluateAll((els) => [...new Set(els.filter((e) => e.getClientRects().length > 0).map((e) => e.getAttribute('aria-label') ?? ''))])
      // Labels carry the keybinding, e.g. "Clear (Ctrl+K Shift+Backspace)"; the overflow is "Views and More Actions...".
      .then((ls) => ls.map((l) => l.replace(/ \((Ctrl|Shift|Alt|Cmd|⌘|⌃|⇧|⌥)[^)]*\)$/, '').replace(/^.*More Actions\.\.\.$/, 'More Actions...')));
    if (labels.some(ready) || Date.now() > end) return labels;
    await page.waitForTimeout(300);
  }
}

async function clickTitleAction(page, label) {
  // By the start of the label: it may end with the keybinding; the overflow's is "Views and More Actions...".
  const sel = label === 'More Actions...' ? '[aria-label*="More Actions..."]' : `[aria-label^="${label}"]`;
  await page.locator(`.part.sidebar .composite.title .title-actions .action-label${sel}, .part.sidebar .pane-header .actions .action-label${sel}`).first().click();
}

/** Opens the title bar's More Actions… menu and returns its item labels. */
async function openTitleOverflow(page) {
  // A menu still open blocks the button with its context-view block. Right after an item's click the menu closes by
  // itself and runs the item as it closes, so it gets 2 s for that first: an Escape then would cancel the item. Only
  // a menu still open after that (a swallowed click, an Escape the page did not get) is closed here.
  const open = page.locator('.context-view .monaco-menu');
  await open.first().waitFor({ state: 'hidden', timeout: 2000 }).catch(() => undefined);
  for (let i = 0; i < 5 && (await open.first().isVisible().catch(() => false)); i++) {
    await page.keyboard.press('Escape');
    await page.waitForTimeout(200);
  }
  await clickTitleAction(page, 'More Actions...');
  const items = page.locator('.context-view .monaco-menu .action-label');
  await items.first().waitFor({ timeout: 10_000 });
  return (await items.allInnerTexts()).map((t) => t.trim()).filter(Boolean);
}

/**
 * Runs the open menu's item `label` from the keyboard: arrows until it is focused, then Enter. A mouse click is not
 * used because a menu item listens for the mouse-up only once a 100 ms timer has run after the menu shows
 * (BaseMenuActionViewItem's RunOnceScheduler); on a busy page Chromium delivers input before late timers, so a click
 * can land before the listener exists and is swallowed (two clean-clone CI runs). The menu's trigger key runs on
 * key-down with no such timer.
 */
async function chooseInMenu(page, label) {
  const items = page.locator('.context-view .monaco-menu .action-item');
  const n = await items.count();
  for (let i = 0; i <= n + 1; i++) {
    // Read without waiting: before the first arrow no item is focused.
    const focused = await page.evaluate(() => document.querySelector('.context-view .monaco-menu .action-item.focused .action-label')?.textContent ?? '');
    if (focused.trim() === label) {
      await page.keyboard.press('Enter');
      return;
    }
    await page.keyboard.press('ArrowDown');
    await page.waitForTimeout(50);
  }
  throw new Error(`the menu never focused ${label}`);
}

const statusTokens = (page, model) => page.locator('.statusbar-item', { hasText: new RegExp(`${model} · WebGPU · \\d+ tok$`) }).first().waitFor({ timeout: 240_000 });

/** F1 → Choose Model → Open Model Folder…, then the folder typed into code-server's open dialog. */
async function openModelFolder(page, folder) {
  await runFromPalette(page, 'Attention Inspector: Choose Model');
  // The item's label starts with a codicon, so it is found by its text rather than pickQuickItem's exact label.
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Model Folder…' }).first().click();
  // code-server's open dialog is a quick input prefilled with a path, like its save dialog.
  const input = page.locator('.quick-input-widget input');
  const end = Date.now() + 20_000;
  while (!(await input.inputValue().catch(() => '')).startsWith('/')) {
    if (Date.now() > end) throw new Error('the open dialog did not open');
    await page.waitForTimeout(200);
  }
  // The dialog can reset its prefilled path after our typing (seen once in a loaded run, the dialog then showed the
  // workspace folder): type again until the path holds.
  const want = folder + '/';
  for (let i = 0; ; i++) {
    await input.fill(want);
    await page.waitForTimeout(500);
    if ((await input.inputValue().catch(() => '')) === want) break;
    if (i >= 10) throw new Error(`the open dialog kept its own path instead of ${want}`);
  }
  await page.keyboard.press('Enter');
}

/** Waits for tints in both of our colour families (DIFF weights are signed) and nothing else of ours. */
async function expectTints(page, kind) {
  const { warm, cool } = tintRgb(kind);
  const end = Date.now() + 30_000;
  for (;;) {
    const cs = await decorationColours(page);
    const w = cs.filter((c) => warm.has(c.rgb)).length;
    const k = cs.filter((c) => cool.has(c.rgb)).length;
    if (w > 0 && k > 0) return { warm: w, cool: k, all: cs };
    if (Date.now() > end) throw new Error(`expected warm and cool tints, found ${w} warm, ${k} cool among ${JSON.stringify(cs.slice(0, 5))}`);
    await page.waitForTimeout(300);
  }
}

async function ours(page, kind) {
  const { warm, cool } = tintRgb(kind);
  return (await decorationColours(page)).filter((c) => warm.has(c.rgb) || cool.has(c.rgb));
}

async function inspectorTests(page, check, shots, kind, modelsDir) {
  const frame = webviewFrame(page);
  await check('F1 → "Analyze Document" analyses the file; the status bar names model, backend and tokens', async () => {
    await page.keyboard.press('Control+J'); // the log panel from the previous test takes room
    await openFile(page, 'inspect.py');
    await runFromPalette(page, 'Attention Inspector: Analyze Document');
    // The WebGPU forward on SwiftShader takes seconds: longer than half a second shows a progress notification.
    await page.locator('.notifications-toasts', { hasText: /analyzing \d+ tokens with twin-diff/ }).waitFor({ timeout: 20_000 });
    await statusTokens(page, 'twin-diff');
    await frame.locator('[data-testid=tokens]').waitFor({ timeout: 30_000 });
  });
  await check('the editor context menu offers the inspector commands', async () => {
    const p = await wordPoint(page, 'def attention', 'attention');
    await page.mouse.click(p.x, p.y, { button: 'right' });
    const menu = page.locator('.monaco-menu-container, .context-view .monaco-menu');
    await menu.locator('.action-label', { hasText: 'Analyze Document' }).first().waitFor({ timeout: 20_000 });
    await menu.locator('.action-label', { hasText: 'Choose Layer and Head' }).first().waitFor({ timeout: 5_000 });
    await page.keyboard.press('Escape');
  });
  await check('hovering a token tints the others warm and cool in theme colours and shows the hover card with A1, λ·A2 and λ', async () => {
    await hoverWord(page, 'weights = softmax', 'softmax');
    await expectTints(page, kind);
    const card = await page.locator('.monaco-hover', { hasText: 'Attention Inspector' }).first().innerText();
    for (const s of ['twin-diff', 'A1', 'λ·A2', 'λ = ']) if (!card.includes(s)) throw new Error(`hover card lacks "${s}": ${card}`);
    await page.screenshot({ path: join(shots, `editor-highlights-${kind}.png`) });
  });
  await check('the panel draws the layer × head grid and, under "Selected head", the heatmap (canvas pixels), λ per layer and head statistics', async () => {
    await frame.locator('[data-testid=focus]', { hasText: '#' }).waitFor({ timeout: 30_000 });
    // The side panel is a summary: the small map and the statistics are one click away (the explorer shows them large).
    await frame.locator('[data-testid="details-twin-diff"] > summary').click();
    await frame.locator('[data-testid=stats-twin-diff] table').waitFor({ timeout: 60_000 });
    const grid = await canvasInk(frame, 'grid-twin-diff');
    const heat = await canvasInk(frame, 'heatmap-twin-diff');
    if (grid < 500 || heat < 200) throw new Error(`blank canvases: grid ${grid}, heatmap ${heat} ink pixels`);
    const lambdas = await frame.locator('[data-testid=lambda-twin-diff]').innerText();
    if (!/L0\s*-?\d\.\d{3}/.test(lambdas)) throw new Error(`λ shown as "${lambdas}"`);
    const heatCanvas = frame.locator('canvas[data-testid="heatmap-twin-diff"]');
    const box = await heatCanvas.boundingBox();
    await heatCanvas.hover({ position: { x: Math.round(box.width * 0.3), y: Math.round(box.height * 0.6) } });
    const tip = await frame.locator('[data-testid="heatmap-twin-diff-tooltip"]').innerText({ timeout: 10_000 });
    if (!/query #\d+.*→ key #\d+.*: -?\d\.\d{4}/.test(tip)) throw new Error(`tooltip "${tip}"`);
    const widthBefore = box.width;
    await frame.locator('.heatmap button[aria-label="Zoom in"]').first().click();
    const after = (await heatCanvas.boundingBox()).width;
    if (!(after > widthBefore * 1.5)) throw new Error(`zoom in: ${widthBefore} → ${after} px`);
    await page.screenshot({ path: join(shots, `panel-zoomed-${kind}.png`) });
    await frame.locator('.heatmap button[aria-label="Fit to the panel width"]').first().click();
    await page.screenshot({ path: join(shots, `panel-${kind}.png`) });
  });
  await check('clicking a head in the grid selects it and changes the highlights', async () => {
    const before = JSON.stringify(await ours(page, kind));
    const grid = frame.locator('canvas[data-testid="grid-twin-diff"]');
    await grid.click({ position: { x: 22 + 1 * 62 + 28, y: 22 + 2 * 62 + 28 } }); // layer 2, head 1
    await frame.locator('[data-testid=selection]', { hasText: 'layer 2 · head 1' }).waitFor({ timeout: 20_000 });
    const end = Date.now() + 20_000;
    while (JSON.stringify(await ours(page, kind)) === before) {
      if (Date.now() > end) throw new Error('the highlights did not change');
      await page.waitForTimeout(200);
    }
  });
  await check('F1 → Choose Layer and Head, Choose View, Direction, Aggregate, Follow Cursor: each changes what the panel reports', async () => {
    await runFromPalette(page, 'Attention Inspector: Choose Layer and Head');
    await pickQuickItem(page, 'All layers · max |a| over heads');
    await frame.locator('[data-testid=selection]', { hasText: 'all layers · max |a| over heads' }).waitFor({ timeout: 20_000 });
    await runFromPalette(page, 'Attention Inspector: Choose View');
    await pickQuickItem(page, 'max(0, A1 − λ·A2)');
    await frame.locator('[data-testid=view]', { hasText: 'max(0, A1 − λ·A2)' }).waitFor({ timeout: 20_000 });
    await runFromPalette(page, 'Attention Inspector: Direction (Attends To / Attended By)');
    await pickQuickItem(page, 'Attended by');
    await runFromPalette(page, 'Attention Inspector: Choose View');
    await pickQuickItem(page, 'A1 − λ·A2 (DIFF) / A (softmax)');
    await frame.locator('[data-testid=view]', { hasText: 'attended by' }).waitFor({ timeout: 20_000 });
    await runFromPalette(page, 'Attention Inspector: Direction (Attends To / Attended By)');
    await pickQuickItem(page, 'Attends to');
    await runFromPalette(page, 'Attention Inspector: Aggregate Highlights (Tokens / Words / Lines)');
    await pickQuickItem(page, 'Lines');
    await frame.locator('[data-testid=view]', { hasText: 'summed by line' }).waitFor({ timeout: 20_000 });
    await runFromPalette(page, 'Attention Inspector: Aggregate Highlights (Tokens / Words / Lines)');
    await pickQuickItem(page, 'Tokens');
    await runFromPalette(page, 'Attention Inspector: Follow Cursor: Turn Off');
    await page.locator('.statusbar-item', { hasText: 'follow cursor off' }).first().waitFor({ timeout: 10_000 });
    // The palette offers the command that changes the state: Turn On now, not Turn Off.
    const titles = await paletteTitles(page, 'Attention Inspector: Follow Cursor');
    if (!titles.includes('Attention Inspector: Follow Cursor: Turn On') || titles.includes('Attention Inspector: Follow Cursor: Turn Off')) throw new Error(`palette: ${titles.join(' | ')}`);
    await runFromPalette(page, 'Attention Inspector: Follow Cursor: Turn On');
    await page.locator('.statusbar-item', { hasText: 'follow cursor on' }).first().waitFor({ timeout: 10_000 });
  });
  await check("the panel's title bar shows three icons (Open Explorer, Compare With Twin, Export) and More Actions…, whose menu holds the rest and runs them", async () => {
    const labels = await titleBarActions(page, (l) => l.includes('Export (PNG / CSV / JSON)'));
    const icons = labels.filter((l) => l !== 'More Actions...');
    if (JSON.stringify(icons) !== JSON.stringify(['Open Explorer', 'Compare With Twin', 'Export (PNG / CSV / JSON)'])) throw new Error(`title bar: ${labels.join(' | ')}`);
    if (!labels.includes('More Actions...')) throw new Error(`no overflow menu: ${labels.join(' | ')}`);
    await page.locator('.part.sidebar').screenshot({ path: join(shots, `panel-title-bar-${kind}.png`) });
    let menu = await openTitleOverflow(page);
    for (const t of ['Analyze Document', 'Measure Attention To Selection', 'Follow Cursor: Turn Off', 'Clear', 'Choose Layer and Head', 'Choose View', 'Choose Model', 'Check Runtime (WebGPU / WebAssembly)', 'Show Log'])
      if (!menu.includes(t)) throw new Error(`overflow lacks ${t}: ${menu.join(' | ')}`);
    if (menu.includes('Follow Cursor: Turn On')) throw new Error('the overflow offers Turn On while following');
    await page.screenshot({ path: join(shots, `panel-title-overflow-${kind}.png`) });
    /**
     * Clicks a menu item and waits until the toggle has flipped: its 3-second status message, or the overflow menu
     * offering the opposite item (a durable sign; the message can come and go while the page is busy). A click the
     * menu swallowed (the state never flipped within 10 s) is made once more.
     */
    const pick = async (label, status, opposite) => {
      for (let attempt = 0; ; attempt++) {
        await chooseInMenu(page, label);
        const end = Date.now() + 10_000;
        for (;;) {
          if (await page.locator('.statusbar-item', { hasText: status }).first().isVisible().catch(() => false)) return;
          const m = await openTitleOverflow(page);
          await page.keyboard.press('Escape');
          if (m.includes(opposite) && !m.includes(label)) return;
          if (Date.now() > end) break;
          await page.waitForTimeout(500);
        }
        if (attempt === 1) {
          await openTitleOverflow(page);
          const item = page.locator('.context-view .monaco-menu .action-item', { hasText: label }).first();
          const how = await item.evaluate((e) => e.outerHTML.slice(0, 400)).catch((e) => String(e));
          await page.screenshot({ path: join(shots, `panel-title-overflow-failed-${kind}.png`) });
          const bar = (await page.locator('.statusbar-item').allInnerTexts()).map((t) => t.trim()).filter(Boolean).join(' | ');
          await page.keyboard.press('Escape');
          throw new Error(`${label} did not take effect (no "${status}", the menu still offers it). The item: ${how}. Status bar: ${bar}`);
        }
        await openTitleOverflow(page);
      }
    };
    await pick('Follow Cursor: Turn Off', 'follow cursor off', 'Follow Cursor: Turn On');
    menu = await openTitleOverflow(page);
    if (!menu.includes('Follow Cursor: Turn On') || menu.includes('Follow Cursor: Turn Off')) throw new Error(`overflow after turning off: ${menu.join(' | ')}`);
    await pick('Follow Cursor: Turn On', 'follow cursor on', 'Follow Cursor: Turn Off');
    if (await page.locator('.context-view .monaco-menu').first().isVisible().catch(() => false)) await page.keyboard.press('Escape');
  });
  await check("the title bar's Compare With Twin icon shows both models side by side, and becomes Stop Comparing With Twin", async () => {
    await clickTitleAction(page, 'Compare With Twin');
    await frame.locator('section.model[data-model="twin-softmax"]').waitFor({ timeout: 240_000 });
    const labels = await titleBarActions(page, (l) => l.includes('Stop Comparing With Twin'));
    if (labels.includes('Compare With Twin')) throw new Error(`title bar while comparing: ${labels.join(' | ')}`);
    await frame.locator('[data-testid="details-twin-softmax"] > summary').click();
    await frame.locator('[data-testid=stats-twin-softmax] table').waitFor({ timeout: 120_000 });
    const ink = await canvasInk(frame, 'grid-twin-softmax');
    if (ink < 500) throw new Error('twin grid is blank');
    await hoverWord(page, 'weights = softmax', 'softmax');
    const card = await page.locator('.monaco-hover', { hasText: 'Attention Inspector' }).first().innerText();
    if (!card.includes('twin-softmax')) throw new Error(`hover card has no twin column: ${card}`);
    await page.screenshot({ path: join(shots, `panel-compare-${kind}.png`) });
  });
  await check('F1 → Measure Attention To Selection fills the panel table for both twins', async () => {
    const w = await wordPoint(page, 'weights = softmax', 'scores');
    await page.mouse.dblclick(w.x, w.y);
    await runFromPalette(page, 'Attention Inspector: Measure Attention To Selection');
    await frame.locator('[data-testid="measure-twin-diff"]').waitFor({ timeout: 120_000 });
    await frame.locator('[data-testid="measure-twin-softmax"]').waitFor({ timeout: 10_000 });
    const row = await frame.locator('[data-testid="measure-twin-diff"]').innerText();
    const nums = row.match(/-?\d+\.\d+/g).map(Number);
    if (nums.length !== 3 || Math.abs(nums[0] + nums[1] + nums[2] - 1) > 0.003) throw new Error(`masses ${row}`);
    await page.locator('.notifications-toasts', { hasText: 'Attention to the selection' }).waitFor({ timeout: 20_000 });
  });
  await check('F1 → Export → CSV writes the rows through the save dialog', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-ui-export-'));
    const target = join(dir, 'rows.csv');
    await runFromPalette(page, 'Attention Inspector: Export (PNG / CSV / JSON)');
    await pickQuickItem(page, 'CSV');
    // code-server's save dialog is a quick input prefilled with a path.
    const input = page.locator('.quick-input-widget input');
    const end0 = Date.now() + 20_000;
    while (!(await input.inputValue().catch(() => '')).startsWith('/')) {
      if (Date.now() > end0) throw new Error('the save dialog did not open');
      await page.waitForTimeout(200);
    }
    // code-server's dialog can still be rewriting its prefilled path when we type (a run saw the two merged): retype
    // until the box holds exactly the target.
    for (let i = 0; i < 5; i++) {
      await input.fill(target);
      await page.waitForTimeout(300);
      if ((await input.inputValue()) === target) break;
    }
    await page.keyboard.press('Enter');
    const end = Date.now() + 20_000;
    while (!existsSync(target)) {
      if (Date.now() > end) throw new Error('no file written');
      await page.waitForTimeout(200);
    }
    const head = readFileSync(target, 'utf8').split('\n')[0];
    if (head !== 'model,layer,head,query,key,key_text,a,a1,lambda_a2,lambda') throw new Error(`CSV header ${head}`);
  });
  await check('F1 → Choose Model → twin-softmax analyses again with the softmax twin', async () => {
    await runFromPalette(page, 'Attention Inspector: Stop Comparing With Twin');
    await titleBarActions(page, (l) => l.includes('Compare With Twin'));
    await runFromPalette(page, 'Attention Inspector: Choose Model');
    await pickQuickItem(page, 'twin-softmax');
    await statusTokens(page, 'twin-softmax');
    await runFromPalette(page, 'Attention Inspector: Choose Model');
    await pickQuickItem(page, 'twin-diff');
    await statusTokens(page, 'twin-diff');
  });
  await check('F1 → Choose Model → Open Model Folder… opens a DIFF V2 ONNX folder: status, per-token λ in the panel, signed tints', async () => {
    await openModelFolder(page, join(modelsDir, 'diff-v2-tiny'));
    await page.locator('.notifications-toasts', { hasText: /diff-v2-tiny-[0-9a-f]{10} — diff-v2, 3 layers × 2 heads, read from its ONNX graph/ }).waitFor({ timeout: 60_000 });
    await statusTokens(page, 'diff-v2-tiny-[0-9a-f]{10}');
    await frame.locator('[data-testid^="lambda-diff-v2-tiny"]', { hasText: 'mean λ' }).waitFor({ timeout: 60_000 });
    await hoverWord(page, 'weights = softmax', 'softmax');
    await expectTints(page, kind);
    const card = await page.locator('.monaco-hover', { hasText: 'Attention Inspector' }).first().innerText();
    if (!/diff-v2-tiny/.test(card) || !/λ·A2/.test(card)) throw new Error(`hover card: ${card.slice(0, 300)}`);
    await page.screenshot({ path: join(shots, `byom-diff-v2-editor-${kind}.png`) });
    await frame.locator('[data-testid^="grid-diff-v2-tiny"] canvas, canvas').first().waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1500);
    await page.screenshot({ path: join(shots, `byom-diff-v2-panel-${kind}.png`) });
  });
  await check('a model whose Q/K do not reproduce its attention (ALiBi) is read from its softmax outputs, and the panel says so', async () => {
    await openModelFolder(page, join(modelsDir, 'alibi-tiny'));
    await statusTokens(page, 'alibi-tiny-[0-9a-f]{10}');
    await frame.locator('[data-testid^="readfrom-alibi-tiny"]', { hasText: /softmax outputs.*limit inputs to \d+ tokens/ }).waitFor({ timeout: 60_000 });
    await page.locator('.notifications-toasts', { hasText: /do not reproduce the attention its graph computes/ }).first().waitFor({ timeout: 20_000 });
    await hoverWord(page, 'weights = softmax', 'softmax');
    await page.waitForTimeout(1000);
    await page.screenshot({ path: join(shots, `byom-alibi-panel-${kind}.png`) });
    await runFromPalette(page, 'Attention Inspector: Choose Model');
    await pickQuickItem(page, 'twin-diff');
    await statusTokens(page, 'twin-diff');
  });
  await check('F1 → Analyze Selection analyses only the selected lines', async () => {
    const d = await wordPoint(page, 'def softmax', 'softmax');
    await page.mouse.click(d.x, d.y);
    await page.keyboard.press('Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await runFromPalette(page, 'Attention Inspector: Analyze Selection');
    const item = page.locator('.statusbar-item', { hasText: /twin-diff · WebGPU · \d+ tok$/ }).first();
    const end = Date.now() + 240_000;
    for (;;) {
      const n = Number((await item.innerText()).match(/(\d+) tok/)?.[1] ?? 1e9);
      if (n < 60) break;
      if (Date.now() > end) throw new Error(`status says ${n} tokens`);
      await page.waitForTimeout(300);
    }
    await frame.locator('[data-testid=source]', { hasText: 'lines 4–5' }).waitFor({ timeout: 20_000 });
  });
  await check('typing clears the highlights at once, Follow Cursor analyses again, and F1 → Clear removes everything', async () => {
    // Follow Cursor is on by default; an earlier test toggles it, so this one does not rely on how that test ended.
    if ((await paletteTitles(page, 'Attention Inspector: Follow Cursor')).includes('Attention Inspector: Follow Cursor: Turn On'))
      await runFromPalette(page, 'Attention Inspector: Follow Cursor: Turn On');
    await runFromPalette(page, 'Attention Inspector: Analyze Document');
    await statusTokens(page, 'twin-diff');
    await hoverWord(page, 'weights = softmax', 'softmax');
    await expectTints(page, kind);
    const m = await wordPoint(page, 'import math', 'math');
    await page.mouse.click(m.x, m.y);
    await page.keyboard.press('End');
    await page.keyboard.type('  # edited');
    await page.waitForTimeout(150);
    const left = (await ours(page, kind)).length;
    if (left !== 0) throw new Error(`${left} stale tints after typing`);
    await statusTokens(page, 'twin-diff'); // analyzed again after the pause (no "(edited)")
    await runFromPalette(page, 'Attention Inspector: Clear');
    await frame.locator('[data-testid=inspector-empty]').waitFor({ timeout: 20_000 });
    // The panel and the editor get Clear through separate channels: the editor may redraw a frame after the panel.
    const end = Date.now() + 3000;
    while ((await ours(page, kind)).length) {
      if (Date.now() > end) throw new Error('tints left after Clear');
      await page.waitForTimeout(100);
    }
    const titles = await paletteTitles(page, 'Attention Inspector: Clear');
    if (titles.includes('Attention Inspector: Clear')) throw new Error('the palette still offers Clear with nothing analyzed');
    await runFromPalette(page, 'File: Revert File');
  });
}
