// Renders the package icon media/icon.png (128 × 128, what the Extensions view and the details page show) from
// media/icon-package.svg with headless Chromium (/usr/bin/chromium, driven by playwright-core). Run it after
// changing the SVG:   node scripts/renderIcon.mjs
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const svg = readFileSync(join(root, 'media/icon-package.svg'), 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--headless=new', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 128, height: 128 }, deviceScaleFactor: 1 });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace(/<svg /, '<svg style="display:block" ')}</body></html>`);
  await page.locator('svg').screenshot({ path: join(root, 'media/icon.png'), omitBackground: true });
  console.log('wrote media/icon.png');
} finally {
  await browser.close();
}
