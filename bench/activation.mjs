// Activation time of the extension, old (one bundle, everything constructed in activate()) against new (the light
// dist/extension.js that loads dist/extensionCore.js on first use), measured side by side in the same run.
//
// Harness: plain Node 20 with a STUB `vscode` module (a Proxy whose every member is a no-op), not the real extension
// host. Each sample is a fresh child process that times require(bundle) + activate(context) with
// process.hrtime, so module loading and parsing (the cost that lazy loading removes) is included; the OS file cache
// is warm. Old and new alternate, so both see the same machine load. "first use" is the new bundle's cost on the
// first command/panel/API call (require of dist/extensionCore.js + construction), measured in the same process.
//
//   node scripts/build.mjs && node bench/activation.mjs [repeats=21] [old git ref=f437930]
// Writes bench/results/activation.json.
import { execSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repeats = Number(process.argv[2] ?? 21);
const oldRef = process.argv[3] ?? 'f437930'; // the last commit with the eager activate() and onStartupFinished

/** The old extension, bundled from its sources at `oldRef` exactly as the old build did (one cjs bundle). */
async function buildOld() {
  const dir = mkdtempSync(join(tmpdir(), 'attn-bench-old-'));
  execSync(`git archive ${oldRef} src | tar -x -C ${dir}`, { cwd: root });
  const outfile = join(root, 'out/bench/activation/old/extension.js');
  await esbuild.build({ entryPoints: [join(dir, 'src/extension.ts')], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], nodePaths: [join(root, 'node_modules')], logLevel: 'error' });
  return outfile;
}

const child = join(root, 'bench/activationChild.cjs');
function sample(bundle) {
  const r = spawnSync(process.execPath, [child, bundle, root], { encoding: 'utf8', timeout: 60_000 });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  if (r.status !== 0 || !line?.startsWith('{')) throw new Error(`sample of ${bundle} failed: ${r.stderr}`);
  return JSON.parse(line);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const oldBundle = await buildOld();
const newBundle = join(root, 'dist/extension.js');
const runs = { old: [], new: [] };
sample(oldBundle); // warm the file cache
sample(newBundle);
for (let i = 0; i < repeats; i++) {
  runs.old.push(sample(oldBundle));
  runs.new.push(sample(newBundle));
}
const summary = {
  harness: 'Node 20 child process per sample, stub vscode module (not the real extension host)',
  oldRef,
  repeats,
  old: { activateMs: median(runs.old.map((r) => r.activateMs)) },
  new: { activateMs: median(runs.new.map((r) => r.activateMs)), firstUseMs: median(runs.new.map((r) => r.firstUseMs)) },
  samples: runs,
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/activation.json'), JSON.stringify(summary, null, 2) + '\n');
const f = (x) => x.toFixed(1);
console.log(`| bundle | require + activate(), median of ${repeats} (ms) | first use (ms) |`);
console.log('| --- | --- | --- |');
console.log(`| old (${oldRef}, one bundle) | ${f(summary.old.activateMs)} | — (done in activate) |`);
console.log(`| new (dist/extension.js + lazy dist/extensionCore.js) | ${f(summary.new.activateMs)} | ${f(summary.new.firstUseMs)} |`);
