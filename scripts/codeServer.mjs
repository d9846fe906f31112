// Starts and stops code-server (the real VS Code workbench and extension host) for `npm start` and the e2e tests.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER = join(ROOT, `.tools/code-server-${CODE_SERVER_VERSION}/node_modules/.bin/code-server`);

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Throwaway XDG folders and a user-data dir with settings that keep the workbench quiet and predictable. */
export function freshProfile({ theme = 'Default Dark Modern', settings = {} } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'attn-vscode-'));
  const userData = join(home, 'user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(
    join(userData, 'User/settings.json'),
    JSON.stringify({
      'workbench.colorTheme': theme,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.welcomePage.walkthroughs.openOnInstall': false,
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'update.mode': 'none',
      'window.restoreWindows': 'none',
      'git.openRepositoryInParentFolders': 'never',
      'git.enabled': false,
      ...settings,
    }),
  );
  const extensions = join(home, 'extensions');
  mkdirSync(extensions, { recursive: true });
  return { home, userData, extensions };
}

function xdgEnv(home) {
  return { XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), XDG_CACHE_HOME: join(home, 'cache') };
}

/** Runs `code-server --install-extension` into the profile's extensions folder. */
export async function installVsix(profile, vsix) {
  await new Promise((resolve, reject) => {
    const p = spawn(CODE_SERVER, ['--extensions-dir', profile.extensions, '--user-data-dir', profile.userData, '--install-extension', vsix], {
      env: { ...process.env, ...xdgEnv(profile.home) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`install-extension failed (${code}): ${out}`))));
  });
}

/** Starts code-server on 127.0.0.1 (a secure context: the webview needs one for WebGPU and its service worker). */
export async function startCodeServer({ profile, env = {}, port } = {}) {
  if (!existsSync(CODE_SERVER)) throw new Error(`code-server not found at ${CODE_SERVER}: run scripts/setup-tools.sh first`);
  profile ??= freshProfile();
  port ??= await freePort();
  const args = [
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened',
    '--user-data-dir', profile.userData, '--extensions-dir', profile.extensions,
  ];
  const child = spawn(CODE_SERVER, args, { env: { ...process.env, ...xdgEnv(profile.home), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`code-server did not start within 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    profile,
    log: () => log,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** The workbench URL for a folder, with an extension under development and, optionally, a test module. */
export function workbenchUrl(base, { folder, extensionDevelopmentPath, extensionTestsPath, openFile } = {}) {
  // The extension host runs on the server, so the payload's paths are vscode-remote URIs on its authority.
  const remote = (path) => `vscode-remote://${new URL(base).host}${path}`;
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', remote(extensionTestsPath)]);
  if (openFile) payload.push(['openFile', remote(openFile)]);
  const q = new URLSearchParams();
  if (folder) q.set('folder', folder);
  if (payload.length) q.set('payload', JSON.stringify(payload));
  return `${base}/?${q}`;
}
