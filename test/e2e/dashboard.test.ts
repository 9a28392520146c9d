// The operations dashboard in a real browser: Debian's headless Chromium, driven by
// playwright-core, against real instances on PostgreSQL and Redis. The page loads with its query,
// follows mutations through graphql-ws within a second, and when its server goes away and comes
// back on the same port it reconnects by itself, resumes its subscriptions after the last event
// it saw (so what happened while it was away arrives too, without reloading) and stays live.
//
// No Chromium is a failure, not a skip: CI installs it (.ci/run).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { assertChromiumInstalled, launchChromium, type HeadlessBrowser } from '../../dashboard/browser.js';
import { buildDashboard } from '../../dashboard/build.js';
import { startInstance, type Instance, type StartOptions } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { operationsOpen } from '../subscriptions/helpers.js';

/** The page's three subscriptions: stats, emergencies, donations. */
const PAGE_SUBSCRIPTIONS = 3;
/** the page shows a mutation's effect within a second of its acknowledgement. */
const LIVE_WITHIN_MS = 1000;

// The page's global, for the functions playwright runs inside it (this project's lib has no DOM).
declare const document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };

const db = useSeededDatabase();
let tmp: string;
let browser: HeadlessBrowser | undefined;
let options: StartOptions;

beforeAll(async () => {
  assertChromiumInstalled();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-dashboard-'));
  const { outDir } = await buildDashboard({ outDir: path.join(tmp, 'site') });
  options = {
    databaseUrl: db().url,
    redisUrl: testRedisUrl(),
    // Shared by every instance below: one cache, one event log to resume from.
    env: { CACHE_PREFIX: uniqueCachePrefix() },
    appOptions: { dashboardDir: outDir },
  };
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const DONORS = 'query { donors(first: 100) { nodes { id bloodGroup eligible } } }';
const CAMPAIGNS = 'query { campaigns(activeOnly: true) { id collectedUnits hospital { id } } }';
const RECORD = `mutation($input: RecordDonationInput!) {
  recordDonation(input: $input) { id bloodGroup campaign { id collectedUnits } }
}`;
const CREATE_REQUEST = `mutation($input: CreateBloodRequestInput!) { createBloodRequest(input: $input) { id } }`;
const STATS = 'query { dashboardStats { totalUnitsCollected inventory { bloodGroup units } } }';

const attr = (page: Page, selector: string, name: string) => page.locator(selector).getAttribute(name);
const bar = (group: string) => `#inventory-chart [data-blood-group="${group}"]`;
const campaign = (id: string) => `#campaigns [data-campaign-id="${id}"]`;

/** Waits until `selector`'s attribute `name` reads `value`; returns how long that took. */
async function attributeBecomes(page: Page, selector: string, name: string, value: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  try {
    await page.waitForFunction(
      ([s, n, v]) => document.querySelector(s)?.getAttribute(n) === v,
      [selector, name, value] as const,
      { timeout: timeoutMs, polling: 'raf' },
    );
  } catch (err) {
    const now = await page.locator(selector).getAttribute(name).catch(() => null);
    throw new Error(`${selector} [${name}] is ${JSON.stringify(now)}, expected ${JSON.stringify(value)} within ${timeoutMs} ms (${(err as Error).message.split('\n')[0]})`);
  }
  return Date.now() - started;
}

test('the page loads with one query, follows mutations live, and reconnects and resumes after its server restarts', async () => {
  let a = await startInstance(options);
  // A second instance on the same database and Redis, to write while the page's server is down.
  const b = await startInstance(options);
  const { staff } = await demoTokens(a.url);

  // What to write: an active campaign (and its hospital) and a few donors allowed to donate.
  const { campaigns } = expectNoErrors(await gql(a.url, CAMPAIGNS));
  expect(campaigns.length).toBeGreaterThan(0);
  const target: { id: string; hospital: { id: string } } = campaigns[0];
  const { donors } = expectNoErrors(await gql(a.url, DONORS));
  const eligible: { id: string; bloodGroup: string }[] = donors.nodes.filter((d: { eligible: boolean }) => d.eligible);
  expect(eligible.length).toBeGreaterThanOrEqual(3);
  const record = async (on: Instance, donor: { id: string }) =>
    expectNoErrors(await gql(on.url, RECORD, { input: { donorId: donor.id, hospitalId: target.hospital.id, campaignId: target.id, units: 1 } }, { token: staff }))
      .recordDonation as { bloodGroup: string; campaign: { collectedUnits: number } };
  const serverStats = async (on: Instance) => {
    const { dashboardStats } = expectNoErrors(await gql(on.url, STATS));
    return dashboardStats as { totalUnitsCollected: number; inventory: { bloodGroup: string; units: number }[] };
  };
  const unitsOf = (stats: { inventory: { bloodGroup: string; units: number }[] }, group: string) =>
    String(stats.inventory.find((i) => i.bloodGroup === group)!.units);

  const page = await browser!.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const pageQueries: string[] = [];
  page.on('request', (req) => {
    if (req.url().endsWith('/graphql') && req.method() === 'POST') pageQueries.push(JSON.parse(req.postData() ?? '{}').operationName);
  });

  try {
    // ---- load: one query, then live ----------------------------------------------------------
    await page.goto(`${a.url}/dashboard`);
    await page.waitForSelector('body[data-loaded="true"]');
    await page.waitForSelector('#connection[data-state="live"]');
    expect(pageQueries).toEqual(['Dashboard']);
    await operationsOpen(a, PAGE_SUBSCRIPTIONS);
    // What it shows is what the server says.
    const initial = await serverStats(a);
    for (const item of initial.inventory) expect(await attr(page, bar(item.bloodGroup), 'data-units')).toBe(String(item.units));
    expect(await attr(page, campaign(target.id), 'data-collected')).toBe(
      String(campaigns[0].collectedUnits),
    );

    // ---- a donation through the API moves the chart, the totals and the campaign -------------
    const first = await record(a, eligible[0]!);
    const after1 = await serverStats(a);
    const chartMs = await attributeBecomes(page, bar(first.bloodGroup), 'data-units', unitsOf(after1, first.bloodGroup), LIVE_WITHIN_MS);
    expect(Number(unitsOf(after1, first.bloodGroup))).toBe(Number(unitsOf(initial, first.bloodGroup)) + 1);
    await attributeBecomes(page, '#totals [data-stat="totalUnitsCollected"]', 'data-value', String(after1.totalUnitsCollected), LIVE_WITHIN_MS);
    await attributeBecomes(page, campaign(target.id), 'data-collected', String(first.campaign.collectedUnits), LIVE_WITHIN_MS);
    // A new emergency goes to the top of the list.
    const { createBloodRequest: emergency } = expectNoErrors(
      await gql(a.url, CREATE_REQUEST, { input: { hospitalId: target.hospital.id, bloodGroup: 'O_NEG', unitsNeeded: 4, urgency: 'EMERGENCY' } }, { token: staff }),
    );
    await attributeBecomes(page, '#emergencies > li:first-child', 'data-request-id', emergency.id, LIVE_WITHIN_MS);

    // ---- the server goes away: the page notices --------------------------------------------
    const port = a.port;
    await a.stop();
    await page.waitForSelector('#connection:not([data-state="live"])', { timeout: 5000 });

    // While it is away, another instance records a donation: the page must get it on resuming.
    const missed = await record(b, eligible[1]!);
    const after2 = await serverStats(b);

    // ---- back on the same port: reconnects by itself, resumes, stays live -------------------
    a = await startInstance({ ...options, env: { ...options.env, PORT: String(port) } });
    expect(a.port).toBe(port);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 20_000 });
    await attributeBecomes(page, bar(missed.bloodGroup), 'data-units', unitsOf(after2, missed.bloodGroup), 5000);
    await attributeBecomes(page, campaign(target.id), 'data-collected', String(missed.campaign.collectedUnits), 5000);
    // Resumed from its last events (`after`), not reloaded: still the one query.
    expect(pageQueries).toEqual(['Dashboard']);

    await operationsOpen(a, PAGE_SUBSCRIPTIONS);
    const third = await record(a, eligible[2]!);
    const after3 = await serverStats(a);
    await attributeBecomes(page, bar(third.bloodGroup), 'data-units', unitsOf(after3, third.bloodGroup), LIVE_WITHIN_MS);
    await attributeBecomes(page, '#totals [data-stat="totalUnitsCollected"]', 'data-value', String(after3.totalUnitsCollected), LIVE_WITHIN_MS);
    await attributeBecomes(page, campaign(target.id), 'data-collected', String(third.campaign.collectedUnits), LIVE_WITHIN_MS);

    expect(pageErrors).toEqual([]);
    // For the log: how far behind the acknowledgement the chart was.
    console.info(`dashboard: chart updated ${chartMs} ms after the mutation's acknowledgement`);
  } finally {
    await page.close();
  }
}, 60_000);

test('without Redis a restarted server cannot replay: it refuses the old cursors and the page reloads once, then stays live', async () => {
  // In-process events: the new process has none of the old one's, so `after` gets BAD_USER_INPUT.
  const solo: StartOptions = { ...options, redisUrl: null, env: { CACHE_PREFIX: uniqueCachePrefix() } };
  let a = await startInstance(solo);
  const { staff } = await demoTokens(a.url);
  const { campaigns } = expectNoErrors(await gql(a.url, CAMPAIGNS));
  const hospitalId: string = campaigns[0].hospital.id;
  const { donors } = expectNoErrors(await gql(a.url, DONORS));
  const [d1, d2] = donors.nodes.filter((d: { eligible: boolean }) => d.eligible).slice(-2) as { id: string; bloodGroup: string }[];
  const donate = async (on: Instance, donorId: string) => {
    expectNoErrors(await gql(on.url, RECORD, { input: { donorId, hospitalId, units: 1 } }, { token: staff }));
    const { dashboardStats } = expectNoErrors(await gql(on.url, STATS));
    return dashboardStats as { totalUnitsCollected: number };
  };

  const page = await browser!.context.newPage();
  const pageQueries: string[] = [];
  let reloaded!: () => void;
  const reload = new Promise<void>((resolve) => (reloaded = resolve));
  page.on('request', (req) => {
    if (req.url().endsWith('/graphql') && req.method() === 'POST') pageQueries.push(JSON.parse(req.postData() ?? '{}').operationName);
    if (pageQueries.length === 2) reloaded();
  });
  try {
    await page.goto(`${a.url}/dashboard`);
    await page.waitForSelector('#connection[data-state="live"]');
    await operationsOpen(a, PAGE_SUBSCRIPTIONS);
    // An event on every feed, so the page holds a cursor for each and will try to resume.
    let totals = await donate(a, d1!.id);
    await attributeBecomes(page, '#totals [data-stat="totalUnitsCollected"]', 'data-value', String(totals.totalUnitsCollected), LIVE_WITHIN_MS);
    const { createBloodRequest: emergency } = expectNoErrors(
      await gql(a.url, CREATE_REQUEST, { input: { hospitalId, bloodGroup: 'AB_NEG', unitsNeeded: 2, urgency: 'EMERGENCY' } }, { token: staff }),
    );
    await attributeBecomes(page, '#emergencies > li:first-child', 'data-request-id', emergency.id, LIVE_WITHIN_MS);
    expect(pageQueries).toEqual(['Dashboard']);

    const port = a.port;
    await a.stop();
    await page.waitForSelector('#connection:not([data-state="live"])', { timeout: 5000 });
    a = await startInstance({ ...solo, env: { ...solo.env, PORT: String(port) } });
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 20_000 });
    await operationsOpen(a, PAGE_SUBSCRIPTIONS);
    await Promise.race([
      reload,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`the page did not reload after its cursors were refused; queries: ${pageQueries}`)), 5000).unref()),
    ]);

    totals = await donate(a, d2!.id);
    await attributeBecomes(page, '#totals [data-stat="totalUnitsCollected"]', 'data-value', String(totals.totalUnitsCollected), LIVE_WITHIN_MS);
    // One reload for the three refused cursors.
    expect(pageQueries).toEqual(['Dashboard', 'Dashboard']);
  } finally {
    await page.close();
    await a.stop();
  }
}, 60_000);

test('the page is served with its content types and caching headers; other paths stay 404', async () => {
  const instance = await startInstance(options);
  const html = await fetch(`${instance.url}/dashboard`);
  expect(html.status).toBe(200);
  expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(html.headers.get('cache-control')).toBe('no-cache');
  expect(html.headers.get('content-security-policy')).toContain("connect-src 'self'");
  const page = await html.text();
  const script = page.match(/src="(\/dashboard\/assets\/[^"]+\.js)"/)?.[1];
  const style = page.match(/href="(\/dashboard\/assets\/[^"]+\.css)"/)?.[1];
  expect(script && style).toBeTruthy();

  const js = await fetch(`${instance.url}${script}`);
  expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  const css = await fetch(`${instance.url}${style}`);
  expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');

  expect((await fetch(`${instance.url}/dashboard/`)).status).toBe(200);
  expect((await fetch(`${instance.url}/dashboard/nope.js`)).status).toBe(404);
  expect((await fetch(`${instance.url}/dashboards`)).status).toBe(404);
  await instance.stop();
});
