// onnxruntime-node is only needed by one benchmark (bench/engineBench.ts compares ORT web against it) and weighs
// 288 MB, so it is not a dependency: `npm run bench` installs it on first use into .tools/onnxruntime-node/
// (gitignored), at the version of the onnxruntime-web we ship, without install scripts (the binaries for Linux,
// macOS and Windows CPU are in the npm package; its script would only download CUDA libraries). Later runs reuse it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the benchmark's require('onnxruntime-node') resolves from (see bench/engineBench.ts). */
export const ORT_NODE_PREFIX = join(root, '.tools/onnxruntime-node');

export function ensureOnnxruntimeNode() {
  const want = JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version;
  const pkg = join(ORT_NODE_PREFIX, 'node_modules/onnxruntime-node/package.json');
  const have = existsSync(pkg) ? JSON.parse(readFileSync(pkg, 'utf8')).version : undefined;
  if (have === want) return ORT_NODE_PREFIX;
  console.log(`[bench] installing onnxruntime-node@${want} into ${ORT_NODE_PREFIX} (once; about 290 MB, only the benchmark uses it)`);
  mkdirSync(ORT_NODE_PREFIX, { recursive: true });
  writeFileSync(join(ORT_NODE_PREFIX, 'package.json'), JSON.stringify({ private: true, description: 'onnxruntime-node for npm run bench (scripts/ortNode.mjs)' }, null, 2) + '\n');
  execFileSync('npm', ['install', '--prefix', ORT_NODE_PREFIX, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', `onnxruntime-node@${want}`], {
    stdio: 'inherit',
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  const got = existsSync(pkg) ? JSON.parse(readFileSync(pkg, 'utf8')).version : undefined;
  if (got !== want) throw new Error(`onnxruntime-node@${want} did not install into ${ORT_NODE_PREFIX} (found ${got ?? 'nothing'})`);
  return ORT_NODE_PREFIX;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureOnnxruntimeNode();
