// vscode:prepublish, which vsce runs before packaging: a production build, unless scripts/package.mjs (npm run
// package) has just built (ATTN_VSIX_PREBUILT=1), so a bare `vsce package` still packages a fresh production build.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.ATTN_VSIX_PREBUILT !== '1') execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--production'], { cwd: root, stdio: 'inherit' });
