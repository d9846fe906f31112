// Our default keys against VS Code's own, on Linux, Windows and macOS. code-server's web workbench takes its OS from
// the browser's user agent, so Chromium launched with a macOS / Windows / Linux user agent gets that platform's
// default keybindings. The extension host (test/e2e/keybindings/index.ts) opens the default keybindings file
// (`workbench.action.openDefaultKeybindingsFile`) and writes its text; this file reads it and fails on a clash.
import { readFileSync, renameSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from '../browser/chromium.mjs';
import { ROOT, workbenchUrl } from '../../scripts/codeServer.mjs';

export const PLATFORMS = {
  linux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  windows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
  mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36',
};

/** JSON with comments and trailing commas (the default keybindings file) → value. */
export function parseJsonc(text) {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
    } else out += c;
  }
  return JSON.parse(out.replace(/,(\s*[\]}])/g, '$1'));
}

const MODS = ['ctrl', 'shift', 'alt', 'cmd', 'meta', 'win'];
/** One key press in a canonical form: modifiers in a fixed order, then the key. */
const normPart = (p) => {
  const parts = p.toLowerCase().split('+').filter(Boolean);
  const key = parts.at(-1);
  const mods = parts.slice(0, -1).map((m) => (m === 'meta' || m === 'win' ? 'cmd' : m));
  return [...MODS.filter((m) => mods.includes(m)), key].join('+');
};
/** A key sequence (one press, or a chord of two) as canonical presses. */
export const keySequence = (k) => k.trim().split(/\s+/).map(normPart);

/** Our keybindings from package.json as they apply on `platform`: [{ command, seq, when }]. */
export function ourKeybindings(pkg, platform) {
  const field = { linux: 'linux', windows: 'win', mac: 'mac' }[platform];
  return pkg.contributes.keybindings.map((k) => ({ command: k.command, key: k[field] ?? k.key, seq: keySequence(k[field] ?? k.key), when: k.when }));
}

/**
 * Clashes of our keys with a platform's defaults: the same key sequence; our chord's first key bound by itself
 * (it would run before our chord could start); our single key starting a default chord (it would take the chord
 * away); and on Windows any Ctrl+Alt key, which is AltGr there (it types characters on many layouts).
 */
export function clashes(ours, defaults, platform) {
  const found = [];
  const others = defaults.filter((d) => d.key && d.command && !d.command.startsWith('-') && !d.command.startsWith('attentionInspector.')).map((d) => ({ ...d, seq: keySequence(d.key) }));
  for (const o of ours) {
    const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
    for (const d of others) {
      if (same(o.seq, d.seq)) found.push(`${platform}: ${o.key} (${o.command}) is VS Code's ${d.key} → ${d.command}${d.when ? ` when ${d.when}` : ''}`);
      else if (o.seq.length === 2 && d.seq.length === 1 && d.seq[0] === o.seq[0]) found.push(`${platform}: the chord ${o.key} (${o.command}) starts with ${d.key}, bound by itself to ${d.command}`);
      else if (o.seq.length === 1 && d.seq.length === 2 && d.seq[0] === o.seq[0]) found.push(`${platform}: ${o.key} (${o.command}) is the first key of VS Code's chord ${d.key} → ${d.command}`);
    }
    if (platform === 'windows' && o.seq.some((p) => p.startsWith('ctrl+') && p.includes('alt+'))) found.push(`windows: ${o.key} (${o.command}) uses Ctrl+Alt, which is AltGr on Windows`);
  }
  return found;
}

/** Launches the workbench once per platform and returns { linux, windows, mac } → the default keybindings (parsed). */
export async function dumpDefaultKeybindings({ dev, workspace, outDir }) {
  const result = {};
  for (const [platform, userAgent] of Object.entries(PLATFORMS)) {
    const file = join(outDir, 'keybindings.json');
    rmSync(file, { force: true });
    const context = await launchChromium({ webgpu: false, userAgent });
    try {
      const page = context.pages()[0];
      const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
      await page.goto(workbenchUrl(dev.url, { folder: workspace, extensionDevelopmentPath: ROOT, extensionTestsPath: join(ROOT, 'out/test/e2e/keybindings/index') }));
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 180_000))]);
      if (code !== 0 || !existsSync(file)) throw new Error(`${platform}: the extension host did not write the default keybindings (exit ${code})`);
    } finally {
      await context.close();
    }
    const target = join(outDir, `keybindings-${platform}.json`);
    renameSync(file, target);
    result[platform] = parseJsonc(readFileSync(target, 'utf8'));
  }
  return result;
}

export async function keybindingTests({ dev, check, workspace, outDir }) {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  let defaults;
  await check("VS Code's default keybindings are read for Linux, Windows and macOS, and differ as VS Code's do", async () => {
    defaults = await dumpDefaultKeybindings({ dev, workspace, outDir });
    const has = (p, key, command) => defaults[p].some((d) => d.command === command && keySequence(d.key).join(' ') === keySequence(key).join(' '));
    const wants = [
      ['mac', 'cmd+alt+f', 'editor.action.startFindReplaceAction'],
      ['linux', 'ctrl+shift+i', 'editor.action.formatDocument'],
      ['windows', 'shift+alt+f', 'editor.action.formatDocument'],
      ['linux', 'ctrl+h', 'editor.action.startFindReplaceAction'],
      ['windows', 'ctrl+h', 'editor.action.startFindReplaceAction'],
    ];
    for (const [p, key, command] of wants) if (!has(p, key, command)) throw new Error(`${p}: ${key} → ${command} is not among its ${defaults[p].length} default keybindings`);
    if (has('mac', 'ctrl+shift+i', 'editor.action.formatDocument') || has('linux', 'shift+alt+f', 'editor.action.formatDocument') || has('windows', 'ctrl+shift+i', 'editor.action.formatDocument'))
      throw new Error('the platforms got the same defaults');
    for (const p of Object.keys(PLATFORMS)) {
      if (defaults[p].length < 500) throw new Error(`${p}: only ${defaults[p].length} default keybindings`);
      // The file lists the keybindings of the extensions loaded, ours included, as that platform resolves them.
      for (const o of ourKeybindings(pkg, p)) {
        if (!defaults[p].some((d) => d.command === o.command && keySequence(d.key).join(' ') === o.seq.join(' ')))
          throw new Error(`${p}: our ${o.key} → ${o.command} is not in the default keybindings file`);
      }
    }
  });
  await check('our default keys shadow none of VS Code\'s on Linux, Windows and macOS (same keys, chord prefixes, AltGr)', async () => {
    if (!defaults) throw new Error('no default keybindings were read');
    const found = Object.keys(PLATFORMS).flatMap((p) => clashes(ourKeybindings(pkg, p), defaults[p], p));
    if (found.length) throw new Error(`${found.length} clashes:\n${found.join('\n')}`);
  });
}
