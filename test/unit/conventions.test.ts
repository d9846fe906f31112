import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { reanalyzeDelayMs } from '../../src/core/settings';

// package.json's contributions as people who install the extension meet them: keys, menus, activation, walkthrough,
// spelling. The keys are checked against VS Code's real defaults in test/e2e/keybindings.mjs.
const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const c = pkg.contributes;
const commandIds = new Set<string>(c.commands.map((x: { command: string }) => x.command));

function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((f) => {
    const p = join(dir, f);
    return statSync(join(root, p)).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}
const source = (f: string) => readFileSync(join(root, f), 'utf8');

test('one default key (Analyze Document); every other keybinding is a chord', () => {
  const single = c.keybindings.filter((k: { key: string }) => !/\s/.test(k.key.trim()));
  assert.deepEqual(single.map((k: { command: string }) => k.command), ['attentionInspector.analyzeDocument']);
  for (const k of c.keybindings) {
    for (const key of [k.key, k.mac, k.win, k.linux].filter(Boolean)) {
      assert.ok(!/ctrl\+alt\+|alt\+ctrl\+/.test(key) || k.mac === key, `${k.command}: ${key} uses Ctrl+Alt (AltGr on Windows)`);
      assert.ok(!/(^|\s)(cmd|meta)\+alt\+/.test(k.mac ?? ''), `${k.command}: mac ${k.mac} uses Cmd+Alt`);
    }
    assert.ok(commandIds.has(k.command), `${k.command} is bound but not contributed`);
  }
});

test('every contributed command has a handler in the core, and the light activation registers them all from package.json', () => {
  const handlers = new Set([...source('src/inspector/commands.ts').matchAll(/reg\('([\w.]+)'/g), ...source('src/extensionCore.ts').matchAll(/\['(attentionInspector\.\w+)'/g)].map((m) => m[1]));
  assert.deepEqual([...commandIds].filter((id) => !handlers.has(id)), []);
  assert.deepEqual([...handlers].filter((id) => !commandIds.has(id)), []);
  assert.match(source('src/extension.ts'), /packageJSON[^;]*contributes[^;]*commands/);
});

test('the palette offers Clear, Choose Layer and Head, Export and Measure only with an analysis; the toggles show as on/off pairs', () => {
  const palette = new Map<string, string>(c.menus.commandPalette.map((m: { command: string; when: string }) => [m.command, m.when]));
  for (const id of ['clear', 'chooseHead', 'export', 'measureSelection']) assert.match(palette.get(`attentionInspector.${id}`) ?? '', /(^|&& )attentionInspector\.active\b/, id);
  for (const [toggle, key, on, off] of [
    ['toggleFollowCursor', 'attentionInspector.followCursor', 'followCursorOn', 'followCursorOff'],
    ['compareWithTwin', 'attentionInspector.compare', 'compareWithTwinOn', 'compareWithTwinOff'],
  ]) {
    assert.equal(palette.get(`attentionInspector.${toggle}`), 'false', `${toggle} (keys and scripts) stays out of the palette`);
    assert.equal(palette.get(`attentionInspector.${on}`), `!${key}`);
    assert.equal(palette.get(`attentionInspector.${off}`), key);
    // The inspector keeps the context key up to date.
    assert.match(source('src/inspector/inspector.ts'), new RegExp(`setContext', '${key.replace('.', '\\.')}'`));
  }
  for (const m of c.menus.commandPalette) assert.ok(commandIds.has(m.command), m.command);
});

test("the panel's title bar has at most three icons at a time; the other commands are in its overflow menu", () => {
  const items = c.menus['view/title'] as { command: string; when: string; group: string }[];
  for (const i of items) assert.match(i.when, /^view == attentionInspector\.panel\b/);
  const nav = items.filter((i) => i.group.startsWith('navigation'));
  // On/off pairs share a slot (their when clauses exclude each other).
  const slots = new Set(nav.map((i) => i.group));
  assert.ok(slots.size >= 2 && slots.size <= 3, `${slots.size} title-bar slots`);
  for (const i of nav) assert.ok(c.commands.find((x: { command: string }) => x.command === i.command).icon, `${i.command} has no icon`);
  assert.ok(items.length - nav.length >= 8, 'the overflow holds the rest');
  // The workbench titles a lone view "CONTAINER: VIEW" unless the two names are equal; the long form was cut off
  // beside the icons in a sidebar of the default width.
  const container = c.viewsContainers.activitybar.find((v: { id: string }) => v.id === 'attentionInspector');
  assert.equal(c.views.attentionInspector[0].name, container.title, 'the view is named as its container, so one title shows');
});

test('activation is lazy: no onStartupFinished or *, and dist/extension.js bundles nothing but its own file', () => {
  assert.deepEqual(pkg.activationEvents, ['onLanguage']);
  assert.equal(pkg.main, './dist/extension.js');
  const bundle = source('dist/extension.js');
  const modules = [...bundle.matchAll(/^\/\/ (\S+\.[cm]?[jt]s)$/gm)].map((m) => m[1]);
  assert.deepEqual(modules, ['src/extension.ts'], 'modules bundled into dist/extension.js');
  assert.match(bundle, /require\("\.\/extensionCore\.js"\)/);
  assert.ok(bundle.length < 20_000, `dist/extension.js is ${bundle.length} bytes`);
  assert.ok(existsSync(join(root, 'dist/extensionCore.js')));
  assert.match(source('.vscodeignore'), /^!dist\/extensionCore\.js$/m);
});

test('the walkthrough has five steps with markdown that ships, and completion events that something fires', () => {
  const [w] = c.walkthroughs;
  assert.equal(w.steps.length, 5);
  const contextKeys = new Set([...tsFiles('src').map(source).join('\n').matchAll(/setContext', '([\w.]+)'/g)].map((m) => m[1]));
  for (const s of w.steps) {
    assert.ok(existsSync(join(root, s.media.markdown)), s.media.markdown);
    assert.ok(s.completionEvents.length > 0, s.id);
    for (const e of s.completionEvents) {
      const [kind, arg] = e.split(/:(.*)/s);
      if (kind === 'onCommand') assert.ok(commandIds.has(arg), e);
      else if (kind === 'onContext') assert.ok(contextKeys.has(arg), `${e}: no setContext for it in src/`);
      else assert.fail(`unexpected completion event ${e}`);
    }
    for (const [, cmd] of s.description.matchAll(/\(command:([\w.]+)\)/g)) assert.ok(commandIds.has(cmd), cmd);
  }
  assert.match(source('.vscodeignore'), /^!media\/walkthrough\/\*\*$/m);
  assert.match(source('.vscodeignore'), /^!samples\/differential_attention\.py$/m);
});

test('one spelling: "analyze" in every user-visible string (package.json, and string literals in src/ and webview/)', () => {
  const british = /[Aa]nalys(e|ed|ing)(?![a-z])/; // also inside names such as reanalyseDelayMs; not "analyses" (a noun)
  const texts: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') texts.push(`${path}: ${v}`);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(c, 'contributes');
  const bad = texts.filter((t) => british.test(t) && !t.startsWith('contributes.configuration.properties.attentionInspector.reanalyseDelayMs'));
  for (const f of [...tsFiles('src'), ...tsFiles('webview')]) {
    const code = source(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    for (const m of code.matchAll(/'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`|"(?:[^"\\\n]|\\.)*"/g)) {
      if (british.test(m[0]) && m[0] !== "'reanalyseDelayMs'") bad.push(`${f}: ${m[0]}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('reanalyzeDelayMs: the new name wins at any level; the old name is read where only it is set; default 750', () => {
  assert.equal(reanalyzeDelayMs({ defaultValue: 750 }, {}), 750);
  assert.equal(reanalyzeDelayMs({ defaultValue: 750, globalValue: 300 }, { globalValue: 900 }), 300);
  assert.equal(reanalyzeDelayMs({ defaultValue: 750 }, { globalValue: 900 }), 900);
  assert.equal(reanalyzeDelayMs({ defaultValue: 750 }, { workspaceValue: 400, globalValue: 900 }), 400);
  assert.equal(reanalyzeDelayMs({ defaultValue: 750, globalValue: 300 }, { workspaceFolderValue: 900 }), 300);
  assert.equal(reanalyzeDelayMs({ defaultValue: 750 }, { globalValue: 'soon' }), 750);
  assert.equal(reanalyzeDelayMs(undefined, undefined), 750);
  const props = c.configuration.properties;
  assert.equal(props['attentionInspector.reanalyzeDelayMs'].default, 750);
  assert.ok(props['attentionInspector.reanalyseDelayMs'].deprecationMessage.includes('reanalyzeDelayMs'));
  // The old name's default (750, like the new one's) is never read: only values someone set count.
  assert.equal(reanalyzeDelayMs({ defaultValue: 750 }, { defaultValue: 5000 }), 750);
});
