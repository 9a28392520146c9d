// A frontend on another origin, in a real browser: Debian's headless Chromium (playwright-core)
// loads a small page from a second origin (a static server on another port) that uses Apollo
// Client (bundled with esbuild) to sign in, query a hospital's inventory, run adjustInventory and
// see its normalized cache show the new units without refetching, and subscribe over graphql-ws
// from that origin and receive the change. Needs CORS (preflights, headers, the WebSocket's
// Origin check) and ids on the cached types; against a real instance on PostgreSQL and Redis.
//
// No Chromium is a failure, not a skip: CI installs it (.ci/run).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { assertChromiumInstalled, launchChromium, type HeadlessBrowser } from '../../dashboard/browser.js';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl } from '../helpers/redis.js';
import { operationsOpen } from '../subscriptions/helpers.js';

const db = useSeededDatabase();
let tmp: string;
let site: Server;
let siteOrigin: string;
let api: Instance;
let browser: HeadlessBrowser | undefined;

/** The page's API, as main.ts defines it (evaluated inside the page). */
interface Lifeline {
  origin: string;
  api: string;
  httpRequests(): number;
  events: { id: string; units: number }[];
  errors: string[];
  signIn(email: string, password: string): Promise<boolean>;
  inventory(id: string): Promise<{ id: string; bloodGroup: string; units: number }[]>;
  cachedInventory(id: string): { id: string; bloodGroup: string; units: number }[] | null;
  adjust(hospitalId: string, bloodGroup: string, delta: number): Promise<{ id: string; units: number }>;
  subscribe(bloodGroup: string): boolean;
}
declare const lifeline: Lifeline;

beforeAll(async () => {
  assertChromiumInstalled();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-apollo-client-'));
  await build({
    entryPoints: [path.join(__dirname, 'apollo-client-page', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110'],
    outfile: path.join(tmp, 'main.js'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  writeFileSync(path.join(tmp, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>frontend</title></head><body><script type="module" src="/main.js"></script></body></html>');
  // The second origin: a plain static server on its own port.
  site = createServer((req, res) => {
    const file = new URL(req.url ?? '/', 'http://x').pathname === '/main.js' ? 'main.js' : 'index.html';
    const body = readFileSync(path.join(tmp, file));
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  // Only that origin is allowed, as a deployment would name its frontend.
  api = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CORS_ORIGINS: siteOrigin } });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function openPage(): Promise<Page> {
  const page = await browser!.context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${siteOrigin}/?api=${encodeURIComponent(api.url)}`);
  await page.waitForFunction(() => typeof (globalThis as { lifeline?: unknown }).lifeline === 'object', undefined, { timeout: 15_000 }).catch((err: Error) => {
    throw new Error(`the page did not start: ${problems.join('; ') || err.message}`);
  });
  return page;
}

test('a page on another origin signs in, queries, mutates, sees its normalized cache update and receives a subscription event', async () => {
  const { hospitals } = expectNoErrors(await gql(api.url, '{ hospitals { id inventory { bloodGroup units } } }'));
  const hospital = hospitals.find((h: { inventory: unknown[] }) => h.inventory.length > 0) as { id: string; inventory: { bloodGroup: string }[] };
  const group = hospital.inventory[0]!.bloodGroup;
  const page = await openPage();
  expect(await page.evaluate(() => lifeline.origin)).toBe(siteOrigin);
  expect(siteOrigin).not.toBe(api.url); // a cross-origin page: every call needs CORS

  const { email, password } = DEMO_ACCOUNTS.staff;
  await page.evaluate(([e, p]) => lifeline.signIn(e, p), [email, password] as const);
  const before = await page.evaluate((id) => lifeline.inventory(id), hospital.id);
  const units = before.find((i) => i.bloodGroup === group)!.units;

  // Subscribed from the page over graphql-ws; open on the server before the change is made.
  await page.evaluate((g) => lifeline.subscribe(g), group);
  await operationsOpen(api, 1);

  const requestsBefore = await page.evaluate(() => lifeline.httpRequests());
  const adjusted = await page.evaluate(([h, g]) => lifeline.adjust(h, g, 1), [hospital.id, group] as const);
  expect(adjusted.units).toBe(units + 1);
  // The hospital's cached inventory shows the new units: the mutation's answer was normalized into it.
  const cached = await page.evaluate((id) => lifeline.cachedInventory(id), hospital.id);
  expect(cached?.find((i) => i.bloodGroup === group)?.units).toBe(units + 1);
  expect(await page.evaluate(() => lifeline.httpRequests())).toBe(requestsBefore + 1); // the mutation only

  // And the change arrived over the WebSocket from that origin.
  await page.waitForFunction(([id, n]) => lifeline.events.some((e) => e.id === id && e.units === n), [adjusted.id, units + 1] as const, { timeout: 10_000 }).catch(async (err: Error) => {
    throw new Error(`no inventoryChanged event in the page: ${JSON.stringify(await page.evaluate(() => ({ events: lifeline.events, errors: lifeline.errors })))} (${err.message.split('\n')[0]})`);
  });
  expect(await page.evaluate(() => lifeline.errors)).toEqual([]);
  await page.close();
});
