// Headless Chromium for the dashboard's browser test and screenshot: Debian's `chromium`
// package driven by playwright-core (no browser download, ever), in a fresh profile.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium; CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Playwright adds --headless and --no-sandbox itself (we run as root in CI); named here too so
 * the command line says what it is. The rest keep Chromium off the network: this machine's
 * network is closed, and without them Chromium keeps trying to reach Google's services.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export interface HeadlessBrowser {
  context: BrowserContext;
  /** Closes the browser and removes its profile. Idempotent. */
  close(): Promise<void>;
}

/** Throws, naming the fix, when Chromium is not installed. */
export function assertChromiumInstalled(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the browser tests need Debian's chromium ` +
        '(`apt-get install -y chromium`; `npm test` installs it when missing, via tools/setup-test-deps.sh), or set CHROMIUM_PATH.',
    );
  }
}

export async function launchChromium(options: { width?: number; height?: number } = {}): Promise<HeadlessBrowser> {
  assertChromiumInstalled();
  const profile = mkdtempSync(path.join(os.tmpdir(), 'lifeline-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    context,
    close: () =>
      (closed ??= context.close().finally(() => rmSync(profile, { recursive: true, force: true }))),
  };
}
