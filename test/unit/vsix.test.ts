// The .vsix as `npm run package` writes it, packaged from the build these tests run on (scripts/package.mjs
// --prebuilt: real vsce, the real .vscodeignore, the packaged README) and read back entry by entry.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { noticesFromBuild } from '../../scripts/thirdPartyNotices.mjs';
import { ORT_RUNTIME_FILES } from '../../src/core/ortFiles';
import { STATS_FILES } from '../../src/core/statsFiles';

const root = process.cwd();

/** Every entry of a zip archive by name (central directory; stored or deflated entries). */
function readZip(buf: Buffer): Map<string, Buffer> {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'not a zip archive');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const [packed, size] = [buf.readUInt32LE(p + 20), buf.readUInt32LE(p + 24)];
    const [nameLen, extraLen, commentLen] = [buf.readUInt16LE(p + 28), buf.readUInt16LE(p + 30), buf.readUInt16LE(p + 32)];
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    const data = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(data, data + packed);
    entries.set(name, method === 0 ? Buffer.from(raw) : inflateRawSync(raw));
    assert.equal(entries.get(name)!.length, size, `${name}: size`);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

let dir = '';
let zip = new Map<string, Buffer>();
const file = (name: string) => {
  const b = zip.get(`extension/${name}`);
  assert.ok(b, `extension/${name} is in the .vsix`);
  return b;
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ai-vsix-'));
  const out = join(dir, 'attention-inspector.vsix');
  execFileSync(process.execPath, ['scripts/package.mjs', '--prebuilt', '--out', out], { cwd: root, stdio: 'pipe' });
  zip = readZip(readFileSync(out));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('.vsix: what runs, the notices, the changelog and the icon are in it; sources and the source model packages are not', () => {
  for (const f of ['package.json', 'readme.md', 'changelog.md', 'LICENSE.txt', 'ThirdPartyNotices.txt', 'dist/extension.js', 'dist/openModelWorker.js', 'dist/webview.js', 'dist/early.js', 'dist/explorer.js', 'media/explorer.css', 'dist/probe.onnx', ...Object.values(STATS_FILES).map((f) => `dist/${f}`), ...ORT_RUNTIME_FILES.map((f) => `dist/ort/${f}`), 'dist/models/index.json', 'media/panel.css', 'media/icon.svg', 'docs/DESIGN.md']) file(f);
  for (const name of zip.keys()) {
    assert.ok(!/^extension\/(src|webview|test|scripts|training|bench|node_modules|out|\.tools)\//.test(name), `${name} should not be packaged`);
    assert.ok(!/^extension\/media\/models\/twin-/.test(name), `${name}: the source model packages are not shipped (dist/models is)`);
    assert.ok(!name.endsWith('.map') && !name.endsWith('.ts'), `${name} should not be packaged`);
  }
});

test('.vsix: the icon package.json names is a 128 × 128 PNG', () => {
  const manifest = JSON.parse(file('package.json').toString('utf8'));
  const png = file(manifest.icon);
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
});

test('.vsix: every file package.json points to (icons, walkthrough media) is packaged', () => {
  const manifest = JSON.parse(file('package.json').toString('utf8'));
  const paths: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string' && !v.startsWith('$(') && !/^[a-z]+:/i.test(v)) paths.push(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') for (const x of Object.values(v)) add(x); // { light, dark }
  };
  add(manifest.icon);
  add(manifest.main);
  const c = manifest.contributes ?? {};
  for (const list of Object.values<{ icon?: unknown }[]>(c.viewsContainers ?? {})) for (const v of list) add(v.icon);
  for (const list of Object.values<{ icon?: unknown }[]>(c.views ?? {})) for (const v of list) add(v.icon);
  for (const cmd of c.commands ?? []) add(cmd.icon);
  for (const w of c.walkthroughs ?? []) for (const step of w.steps ?? []) add({ image: step.media?.image, markdown: step.media?.markdown, svg: step.media?.svg });
  assert.ok(paths.length >= 3, paths.join(', '));
  for (const p of paths) file(p);
});

test('.vsix: one tokenizer file serves both bundled twins, and every file the models\' index names is packaged', () => {
  const tokenizers = [...zip.keys()].filter((n) => /tokenizer[^/]*\.json$/.test(n));
  assert.equal(tokenizers.length, 1, tokenizers.join(', '));
  const index = JSON.parse(file('dist/models/index.json').toString('utf8'));
  for (const [id, e] of Object.entries<{ onnx: string; tokenizer: string }>(index.models)) {
    for (const f of [`${id}/manifest.json`, e.onnx, e.tokenizer]) file(`dist/models/${f}`);
  }
  assert.equal(index.models['twin-diff'].tokenizer, index.models['twin-softmax'].tokenizer);
});

test('.vsix: README images are data: URIs of the repository\'s image files (the details page allows only https: and data:)', () => {
  const images = (md: string) => [...md.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)].map((m) => m[1]);
  const repo = images(readFileSync('README.md', 'utf8'));
  const packed = images(file('readme.md').toString('utf8'));
  assert.ok(repo.length >= 1, 'README.md shows at least one image');
  assert.equal(packed.length, repo.length);
  packed.forEach((src, i) => {
    if (/^https:/.test(repo[i])) return assert.equal(src, repo[i]);
    const m = /^data:image\/(png|jpeg|gif|webp);base64,(.+)$/.exec(src);
    assert.ok(m, `${repo[i]} is packaged as ${src.slice(0, 40)}…`);
    assert.ok(Buffer.from(m[2], 'base64').equals(readFileSync(repo[i])), `${repo[i]}: the inlined bytes are the file's`);
  });
  assert.doesNotMatch(file('readme.md').toString('utf8'), /\]\((?!https?:|data:|#|mailto:)[^)]+\)/, 'no relative link is left in the packaged README');
});

test('.vsix: ThirdPartyNotices.txt holds the licence text of every package the bundles contain, read from node_modules', () => {
  const shipped = file('ThirdPartyNotices.txt').toString('utf8');
  const { packages, text } = noticesFromBuild(root);
  assert.equal(shipped, text, 'the shipped notices are those of this build');
  for (const p of ['onnxruntime-web', 'zod', '@huggingface/tokenizers', 'protobufjs']) assert.ok(packages.includes(p), `${p} is bundled and listed`);
  for (const p of packages) {
    const version = JSON.parse(readFileSync(join('node_modules', p, 'package.json'), 'utf8')).version;
    assert.ok(shipped.includes(`\n${p} ${version} — `), `${p} ${version} has a section`);
    for (const f of readdirSync(join('node_modules', p)).filter((n) => /^licen[cs]e(\.(md|txt))?$/i.test(n))) {
      assert.ok(shipped.includes(readFileSync(join('node_modules', p, f), 'utf8').trimEnd()), `${p}/${f} is included verbatim`);
    }
  }
});

test('.vsix: the changelog has an entry for the packaged version', () => {
  const version = JSON.parse(file('package.json').toString('utf8')).version;
  assert.match(file('changelog.md').toString('utf8'), new RegExp(`^## \\[?${version.replace(/\./g, '\\.')}\\]?`, 'm'));
});
