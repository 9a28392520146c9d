// The offline explorer in a real browser: Debian's headless Chromium loads /graphiql from a real
// instance with every request to anything but loopback refused, as on a machine with no internet,
// runs the page's query, a query with a bearer token typed into its Headers tab, and a
// subscription over graphql-ws, and sees each result in the page.
//
// No Chromium is a failure, not a skip: `npm test` installs it (tools/setup-test-deps.sh).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { assertChromiumInstalled, launchChromium, type HeadlessBrowser } from '../../dashboard/browser.js';
import { buildGraphiQL } from '../../graphiql/build.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

// The page's globals, for the functions playwright runs inside it (this project's lib has no DOM).
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const db = useSeededDatabase();
let tmp: string;
let browser: HeadlessBrowser | undefined;
let server: Instance;
/** Requests the page tried to send beyond loopback (all refused). */
const offLoopback: string[] = [];

beforeAll(async () => {
  assertChromiumInstalled();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lifeline-graphiql-'));
  const { outDir } = await buildGraphiQL({ outDir: path.join(tmp, 'site') });
  server = await startInstance({ databaseUrl: db().url, appOptions: { graphiqlDir: outDir } });
  browser = await launchChromium();
  // No internet: anything not addressed to this machine is refused before it leaves the browser.
  await browser.context.route('**/*', (route) => {
    const { protocol, hostname } = new URL(route.request().url());
    const loopback = hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]';
    if (loopback || protocol === 'data:' || protocol === 'blob:') return route.continue();
    offLoopback.push(route.request().url());
    return route.abort('internetdisconnected');
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Waits until the response pane's text contains every one of `parts`; returns that text. */
/**
 * GraphiQL learns the operation's name from the editor a moment after the text changes; a run
 * before that sends the previous operation's name, which the server rightly refuses. It saves its
 * tab state, name included, to localStorage once its own state has it: wait for that.
 */
async function operationNameSettled(page: Page, name: string): Promise<void> {
  await page.waitForFunction(
    (wanted) => {
      // Runs in the page (the test's tsconfig has no DOM types).
      const storage = (globalThis as unknown as { localStorage: { getItem(k: string): string | null } & Record<string, unknown> }).localStorage;
      return Object.keys(storage).some((k) => k.endsWith('tabState') && (storage.getItem(k) ?? '').includes(`"operationName":"${wanted}"`));
    },
    name,
    { timeout: 10_000 },
  );
}

async function responseContains(page: Page, parts: string[], timeoutMs = 20_000): Promise<string> {
  try {
    await page.waitForFunction(
      (wanted) => {
        // Monaco renders spaces as no-break spaces.
        const text = (document.querySelector('.graphiql-response')?.textContent ?? '').replace(/\u00a0/g, ' ');
        return wanted.every((part) => text.includes(part));
      },
      parts,
      { timeout: timeoutMs },
    );
  } catch (err) {
    const now = await page.locator('.graphiql-response').textContent().catch(() => null);
    throw new Error(`the response pane shows ${JSON.stringify(now)}, expected ${JSON.stringify(parts)} (${(err as Error).message.split('\n')[0]})`);
  }
  return ((await page.locator('.graphiql-response').textContent()) ?? '').replace(/\u00a0/g, ' ');
}

const QUERY_EDITOR = '.graphiql-query-editor .monaco-editor';
const HEADERS_EDITOR = '.monaco-editor[data-uri$="-headers.json"]';

/** Replaces an editor's whole text as a paste would (typing key by key, Monaco would add closing brackets and quotes of its own). */
async function replaceEditorText(page: Page, editor: string, text: string): Promise<void> {
  await page.locator(editor).first().click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

const run = (page: Page) => page.locator('.graphiql-execute-button').click();

test('GraphiQL loads with no network beyond loopback, runs queries with a bearer token and shows subscription events', async () => {
  const page = await browser!.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });

  const response = await page.goto(`${server.url}/graphiql`);
  expect(response?.status()).toBe(200);
  // The editor is up and the schema was introspected (the docs explorer button is enabled).
  await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ timeout: 30_000 });

  // The page's own example query, run as is.
  const expected = expectNoErrors(await gql(server.graphqlUrl, '{ availability(bloodGroup: O_NEG) { units hospital { name city } } }'));
  const firstHospital = (expected.availability as Array<{ hospital: { name: string } }>)[0]!.hospital.name;
  await run(page);
  await responseContains(page, ['"availability"', firstHospital]);

  // A query that needs a signed-in user, with the token typed into the Headers tab.
  const donor = await login(server.url, 'donor');
  await replaceEditorText(page, QUERY_EDITOR, 'query Me { me { email name } }');
  await page.getByText('Headers', { exact: true }).first().click();
  await replaceEditorText(page, HEADERS_EDITOR, `{"authorization": "Bearer ${donor.accessToken}"}`);
  await operationNameSettled(page, 'Me');
  await run(page);
  await responseContains(page, ['"me"', 'donor@lifeline.example']);

  // A subscription over graphql-ws (with the same header as connectionParams), then a mutation
  // elsewhere that it must show.
  await replaceEditorText(page, QUERY_EDITOR, 'subscription Stock { inventoryChanged(bloodGroup: O_NEG) { units hospital { id } } }');
  await operationNameSettled(page, 'Stock');
  await run(page);
  const hospitals = expectNoErrors(await gql(server.graphqlUrl, '{ hospitals { id } }')).hospitals as Array<{ id: string }>;
  const hospitalId = hospitals[0]!.id;
  const { accessToken } = await login(server.url, 'staff');
  // Retried until the page's socket is subscribed: the first event may be published before it is.
  let units = -1;
  const deadline = Date.now() + 20_000;
  for (let attempt = 0; attempt < 20 && Date.now() < deadline && units < 0; attempt++) {
    const adjusted = expectNoErrors(
      await gql(server.graphqlUrl, 'mutation($h: ID!) { adjustInventory(hospitalId: $h, bloodGroup: O_NEG, delta: 1) { units } }', { h: hospitalId }, { token: accessToken }),
    );
    const now = (adjusted.adjustInventory as { units: number }).units;
    try {
      await responseContains(page, ['"inventoryChanged"', `"units": ${now}`], 1000);
      units = now;
    } catch {
      // not subscribed yet: adjust again
    }
  }
  expect(units).toBeGreaterThan(0);

  expect(offLoopback).toEqual([]);
  expect(pageErrors).toEqual([]);
}, 120_000);
