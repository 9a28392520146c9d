// Takes docs/dashboard.md's picture of the dashboard from a running server:
//
//   npm start &                                  # demo data on embedded PGlite
//   npx tsx dashboard/screenshot.ts [http://127.0.0.1:4000] [docs/dashboard.png]
//
// It waits for the page to load and go live, then captures the whole page.
import path from 'node:path';
import { launchChromium } from './browser.js';

async function main() {
  const [base = 'http://127.0.0.1:4000', out = path.resolve(__dirname, '..', 'docs', 'dashboard.png')] = process.argv.slice(2);
  const browser = await launchChromium({ width: 1280, height: 900 });
  try {
    const page = await browser.context.newPage();
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await page.goto(`${base.replace(/\/$/, '')}/dashboard`);
    await page.waitForSelector('body[data-loaded="true"]');
    await page.waitForSelector('#connection[data-state="live"]');
    await page.screenshot({ path: out, fullPage: true });
    console.log(`saved ${path.relative(process.cwd(), out)}`);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
