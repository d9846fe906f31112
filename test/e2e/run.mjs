// End-to-end tests in real VS Code (code-server 4.100.3) driven by headless Chromium:
//   1. the mocha suite inside the real extension host (extensionDevelopmentPath + extensionTestsPath);
//   2. Playwright UI tests: open a file, run commands from the palette (F1), read the panel inside its nested
//      webview iframes, save screenshots under test-results/screenshots (gitignored);
//   3. the packaged .vsix installed into a fresh code-server, checked in a browser without WebGPU (wasm path).
// Prints `extension-host: N passed, N failed` and `e2e: N passed, N failed`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../browser/chromium.mjs';
import { ROOT, startCodeServer, workbenchUrl } from '../../scripts/codeServer.mjs';
import { uiTests } from './ui.mjs';
import { vsixTests } from './vsix.mjs';
import { keybindingTests } from './keybindings.mjs';

/**
 * ATTN_E2E_ONLY=host runs only the extension-host suite, =ui only the host suite and the UI tests, =vsix only the
 * packaged extension's checks, =keys only the keybinding check (our keys against VS Code's defaults on Linux, Windows
 * and macOS), =explorer only the explorer's UI checks (for quick iteration);
 * ATTN_E2E_GREP=<regexp> only the extension-host tests whose title matches.
 */
const only = process.env.ATTN_E2E_ONLY;
const shots = join(ROOT, 'test-results/screenshots');
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });
// A copy: UI tests type into files, and nothing a test does may change the fixtures in the repository.
const workspace = mkdtempSync(join(tmpdir(), 'attn-workspace-'));
cpSync(join(ROOT, 'test/fixtures/workspace'), workspace, { recursive: true });
// Tiny ONNX language models (random weights) for Choose Model → Open Model Folder…, outside the workspace as a user's would be.
const modelsDir = mkdtempSync(join(tmpdir(), 'attn-models-'));
execFileSync(process.execPath, [join(ROOT, 'out/test/writeTinyModels.cjs'), modelsDir]);
// The default keybindings of each platform are written here by the extension host (test/e2e/keybindings.mjs).
const keybindingsDir = join(ROOT, 'test-results/keybindings');
rmSync(keybindingsDir, { recursive: true, force: true });
mkdirSync(keybindingsDir, { recursive: true });
let passed = 0;
let failed = 0;
let hostLine = 'extension-host: 0 passed, 1 failed';

async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`  ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`  FAIL ${name} (${Date.now() - t0} ms)\n       ${excerpt(e).join('\n       ')}`);
  }
}

/** An error's first lines (what failed), its last lines (why) and where it was thrown. */
function excerpt(e) {
  const lines = String(e?.message ?? e).split('\n').filter((l) => l.trim() !== '');
  const shown = lines.length <= 16 ? lines : [...lines.slice(0, 4), `... (${lines.length - 12} lines left out) ...`, ...lines.slice(-8)];
  return [...shown, ...String(e?.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l) && !/node:internal|node_modules/.test(l)).slice(0, 2)];
}

async function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} timed out after ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([promise, t]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------------------
const results = join(ROOT, 'test-results/extension-host.json');
rmSync(results, { force: true });
const dev = only === 'vsix' ? undefined : await startCodeServer({ env: { ATTN_E2E_RESULTS: results, ATTN_EXPECT_WEBGPU: '1', ATTN_KEYBINDINGS_DIR: keybindingsDir, ...(process.env.ATTN_E2E_GREP ? { ATTN_E2E_GREP: process.env.ATTN_E2E_GREP } : {}) } });
if (dev) try {
  // 0. Our default keys against VS Code's, on the three platforms (test/e2e/keybindings.mjs).
  if (only !== 'host' && only !== 'explorer') await keybindingTests({ dev, check, workspace, outDir: keybindingsDir });
  if (only === 'keys') hostLine = 'extension-host: 0 passed, 0 failed (not run: ATTN_E2E_ONLY=keys)';

  // 1. The extension-host suite.
  if (only === 'explorer') hostLine = 'extension-host: 0 passed, 0 failed (not run: ATTN_E2E_ONLY=explorer)';
  if (only !== 'keys' && only !== 'explorer') {
    const context = await launchChromium();
    const page = context.pages()[0];
    let exit;
    const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve((exit = code))));
    await page.goto(workbenchUrl(dev.url, { folder: workspace, extensionDevelopmentPath: ROOT, extensionTestsPath: join(ROOT, 'out/test/e2e/suite/index') }));
    try {
      await withTimeout(exited, Number(process.env.ATTN_E2E_HOST_TIMEOUT_S ?? 480) * 1000, 'the extension-host suite');
    } catch (e) {
      console.log(`  FAIL extension-host suite did not finish: ${e.message}`);
    }
    await context.close();
    if (existsSync(results)) {
      const r = JSON.parse(readFileSync(results, 'utf8'));
      console.log(r.lines.join('\n'));
      hostLine = r.lines.at(-1);
      if (exit !== 0 && !r.lines.some((l) => l.includes('FAIL'))) hostLine = `extension-host: 0 passed, 1 failed`;
    } else {
      console.log('  FAIL extension-host suite wrote no results (did the extension host load the test module?)');
      console.log(dev.log().slice(-2000));
    }
  }

  // 2. The UI, as a user sees it (test/e2e/ui.mjs), on WebGPU: `auto` picks wasm on this machine's software adapter,
  // so the setting asks for WebGPU to keep the webview's WebGPU path covered (the host suite's teardowns reset it).
  const userSettings = join(dev.profile.userData, 'User/settings.json');
  writeFileSync(userSettings, JSON.stringify({ ...JSON.parse(readFileSync(userSettings, 'utf8')), 'attentionInspector.backend': 'webgpu' }));
  if (only !== 'host' && only !== 'keys') await uiTests({ dev, check, shots, workspace, modelsDir, explorerOnly: only === 'explorer' });
} finally {
  await dev.stop();
}

// 3. The packaged extension, installed from its .vsix, in a browser without WebGPU (test/e2e/vsix.mjs).
if (!only || only === 'vsix') await vsixTests({ check, shots, workspace });

if (only !== 'vsix') console.log(hostLine);
console.log(`e2e: ${passed} passed, ${failed} failed`);
const hostFailed = only !== 'vsix' && !/ 0 failed( \(.*\))?$/.test(hostLine);
process.exit(failed || hostFailed ? 1 : 0);
