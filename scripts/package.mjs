// `npm run package`: the production build, the packaged README (images inlined, scripts/packageReadme.mjs), then
// vsce, offline: no dependency detection (everything runs from the bundles), relative links left alone, and no
// repository URL (there is no public repository to name). Writes dist-vsix/attention-inspector.vsix.
//   node scripts/package.mjs [--out FILE] [--prebuilt]
// --prebuilt packages dist/ as it is (the unit test packages the build it has just tested, without rebuilding).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packagedReadme } from './packageReadme.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const outArg = argv.indexOf('--out');
const out = resolve(root, outArg >= 0 ? argv[outArg + 1] : 'dist-vsix/attention-inspector.vsix');
const prebuilt = argv.includes('--prebuilt');

if (!prebuilt) execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--production'], { cwd: root, stdio: 'inherit' });
for (const f of ['dist/extension.js', 'dist/webview.js', 'dist/openModelWorker.js', 'dist/models/index.json', 'ThirdPartyNotices.txt']) {
  if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run the build first (node scripts/build.mjs --production)`);
}
const readme = join(root, 'out/package/README.md');
mkdirSync(dirname(readme), { recursive: true });
writeFileSync(readme, packagedReadme(readFileSync(join(root, 'README.md'), 'utf8')));
mkdirSync(dirname(out), { recursive: true });
execFileSync(
  process.execPath,
  [join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--no-rewrite-relative-links', '--allow-missing-repository', '--readme-path', relative(root, readme), '--out', out],
  // vscode:prepublish (which vsce runs) builds for production unless told that this script has just built.
  { cwd: root, stdio: 'inherit', env: { ...process.env, ATTN_VSIX_PREBUILT: '1' } },
);
