// Launches Debian's Chromium headless, the way DESIGN.md §5 measured it works here (WebGPU on SwiftShader).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumArgs({ webgpu = true } = {}) {
  return [
    '--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
    ...(webgpu ? ['--enable-unsafe-webgpu'] : []),
  ];
}

/** A persistent context needs its own fresh profile folder; returns { context, close }. */
export async function launchChromium({ webgpu = true, viewport = { width: 1400, height: 900 }, userAgent } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: run scripts/setup-tools.sh (apt-get install chromium) or set CHROMIUM_PATH`);
  const profile = mkdtempSync(join(tmpdir(), 'attn-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: chromiumArgs({ webgpu }),
    viewport,
    ...(userAgent ? { userAgent } : {}),
  });
  return context;
}
