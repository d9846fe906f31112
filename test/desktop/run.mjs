// The same extension-host suite as the code-server e2e run, under @vscode/test-electron, for machines with a
// desktop VS Code (`npm run test:desktop`). Uses `code` from PATH or $VSCODE_PATH; otherwise test-electron
// downloads VS Code, which needs network access (not available on the CI machines, so not part of `npm test`).
import { runTests } from '@vscode/test-electron';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
let vscodeExecutablePath = process.env.VSCODE_PATH;
if (!vscodeExecutablePath) {
  try {
    vscodeExecutablePath = execFileSync('which', ['code'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    vscodeExecutablePath = undefined;
  }
}
try {
  await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'out/test/e2e/suite/index'),
    launchArgs: [join(root, 'test/fixtures/workspace'), '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  console.error(`desktop extension-host suite failed: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
