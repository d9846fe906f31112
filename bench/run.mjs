// The engine benchmark (Node): one child process per sequence length so each peak-memory figure is that length's
// own. Prints the JSON of every point and a table; writes bench/results/node.json.
//   npm run bench            (all lengths)        npm run bench -- 256 1024   (some)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureOnnxruntimeNode } from '../scripts/ortNode.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lengths = process.argv.slice(2).map(Number).filter(Boolean);
const Ts = lengths.length ? lengths : [256, 1024, 2048, 4096, 8192, 16384];
ensureOnnxruntimeNode(); // not a dependency (288 MB): installed on first use into .tools/onnxruntime-node
const points = [];
function runPoint(T, extra = []) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', join(root, 'out/bench/engineBench.cjs'), '--T', String(T), ...extra], {
    cwd: root,
    encoding: 'utf8',
    timeout: 8 * 60 * 1000,
  });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  const point = line ? JSON.parse(line) : { T, error: (r.error?.message ?? r.stderr ?? 'no output').split('\n')[0] };
  if (r.status !== 0 && !point.error) point.error = `exit ${r.status}`;
  return point;
}
for (const T of Ts) {
  // The timing run holds both runtimes; a second process runs the engine alone for its own peak memory.
  const point = runPoint(T);
  point.enginePeakRssMb = runPoint(T, ['--runtimes', 'web']).enginePeakRssMb;
  points.push(point);
  console.log(JSON.stringify(point));
}
const f = (v, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');
const rows = [
  '| T | forward, engine chunked, ORT web wasm (ms) | same graph, one chunk (ms) | chunked / one chunk | forward, ORT node, same chunks (ms) | web / node | ORT web alone, same chunks (ms) | ORT web alone / node | rows, all heads, 1 query (ms) | stats, first layer (ms) | stats, all heads, ORT (ms) | stats / forward | stats, all heads, JavaScript (ms) | engine peak RSS (MB) | peak RSS, the timing process (engine, ORT web alone, ORT node; MB) | note |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...points.map((p) => `| ${p.T} | ${f(p.forwardWebMs)} | ${f(p.forwardSinglePassMs)} | ${f(p.chunkedOverSingle, 2)} | ${f(p.forwardNodeMs)} | ${f(p.forwardRatio, 2)} | ${f(p.forwardBareWebMs)} | ${f(p.bareWebOverNode, 2)} | ${f(p.rowsAllHeadsMs, 2)} | ${f(p.statsFirstLayerMs)} | ${f(p.statsAllHeadsMs)} | ${f(p.statsOverForward, 2)} | ${f(p.statsAllHeadsJsMs)} | ${f(p.enginePeakRssMb, 0)} | ${f(p.peakRssMb, 0)} | ${p.error ?? ''} |`),
];
console.log('\n' + rows.join('\n'));
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/node.json'), JSON.stringify({ date: new Date().toISOString(), points }, null, 2) + '\n');
