// deploy/nginx.conf running for real in front of two real Lifeline instances (sharing PostgreSQL
// and Redis, as api1 and api2 do in docker-compose.yml): HTTP is balanced over both, a
// subscription's WebSocket upgrade passes through and receives events, a spoofed
// X-Forwarded-For buys no fresh rate-limit budget (nginx appends the client, TRUST_PROXY=1
// takes that entry), /metrics stays inside, and large Cache-Tag headers pass.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { subscribe } from '../subscriptions/helpers.js';
import { all, freePort, nginxBinary, one, parseNginxConf, runnableConf } from './nginx-conf.js';

const NGINX_CONF = path.resolve(__dirname, '..', '..', 'deploy', 'nginx.conf');
/** Anonymous GraphQL requests per minute per client address in this file (small, to reach it quickly). */
const RATE_LIMIT = 40;

const db = useSeededDatabase();
let instances: Instance[];
let nginx: ChildProcess | undefined;
let dir: string;
let lb: string;
let staff: string;

/** GET /health through nginx until it answers 200 (nginx has no readiness signal to await). */
async function untilServing(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nginx did not serve ${url}/health within ${timeoutMs} ms:\n${readLog('error.log')}${readLog('stderr.log')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const readLog = (name: string) => {
  try {
    return readFileSync(path.join(dir, name), 'utf8');
  } catch {
    return '';
  }
};

/** This instance's count of HTTP requests to `route` (from its own /metrics registry). */
async function requestsTo(instance: Instance, route: string): Promise<number> {
  const text = await instance.app.metrics.scrape();
  let total = 0;
  for (const m of text.matchAll(/^lifeline_http_requests_total\{([^}]*)\} (\d+)/gm)) if (m[1]!.includes(`route="${route}"`)) total += Number(m[2]);
  return total;
}

beforeAll(async () => {
  const bin = nginxBinary();
  // One instance per upstream server in the file (api1, api2), sharing PostgreSQL, Redis and the prefix.
  const http = one(parseNginxConf(readFileSync(NGINX_CONF, 'utf8')), 'http').block!;
  const names = all(one(http, 'upstream').block!, 'server').map((d) => d.args[0]!.split(':')[0]!);
  expect(names.length).toBeGreaterThanOrEqual(2);
  const env = { CACHE_PREFIX: uniqueCachePrefix(), TRUST_PROXY: '1', RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT), CDN_TAGS: 'cache-tag' };
  instances = await Promise.all(names.map(() => startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env })));
  dir = mkdtempSync(path.join(tmpdir(), 'lifeline-lb-'));
  const port = await freePort();
  const upstreams = Object.fromEntries(names.map((name, i) => [name, `127.0.0.1:${instances[i]!.port}`]));
  writeFileSync(path.join(dir, 'nginx.conf'), runnableConf(readFileSync(NGINX_CONF, 'utf8'), { upstreams, listenPort: port, dir }));
  nginx = spawn(bin, ['-p', `${dir}/`, '-e', path.join(dir, 'error.log'), '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off; master_process on;'], {
    stdio: 'ignore',
  });
  lb = `http://127.0.0.1:${port}`;
  await untilServing(lb);
  staff = (await demoTokens(lb)).staff;
}, 60_000);

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((r) => nginx!.once('exit', r));
    nginx.kill('SIGQUIT'); // graceful: workers finish, then the master exits
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (nginx.exitCode === null) nginx.kill('SIGKILL');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('HTTP requests through nginx reach every instance', async () => {
  const before = await Promise.all(instances.map((i) => requestsTo(i, '/health')));
  for (let n = 0; n < 20; n++) expect((await fetch(`${lb}/health`)).status).toBe(200);
  const after = await Promise.all(instances.map((i) => requestsTo(i, '/health')));
  const served = after.map((count, i) => count - before[i]!);
  expect(served.reduce((a, b) => a + b, 0)).toBe(20);
  expect(served.every((count) => count > 0)).toBe(true);
});

test('a subscription upgrades to a WebSocket through nginx and receives events from a mutation made through nginx', async () => {
  const wsUrl = `${lb.replace(/^http/, 'ws')}/graphql`;
  const sub = subscribe<{ inventoryChanged: { units: number; hospital: { id: string } } }>(
    wsUrl,
    'subscription { inventoryChanged(bloodGroup: AB_NEG) { units hospital { id } } }',
  );
  // Connected, or the reason it was not (an upgrade nginx did not pass fails here, not by timeout).
  await Promise.race([
    sub.connected,
    sub.failed.then((err) => Promise.reject(new Error(`the WebSocket through nginx failed: ${err instanceof Error ? err.message : JSON.stringify(err)}`))),
    sub.closed.then((c) => Promise.reject(new Error(`the WebSocket through nginx closed: ${c.code} ${c.reason}`))),
  ]);
  // The operation is registered on whichever instance nginx chose.
  const deadline = Date.now() + 10_000;
  while (instances.reduce((n, i) => n + i.app.liveStats().ws.operations, 0) < 1) {
    if (Date.now() > deadline) throw new Error('the subscription never reached an instance');
    await new Promise((r) => setTimeout(r, 10));
  }
  const data = expectNoErrors(await gql(lb, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: AB_NEG, delta: 3) { units } }', undefined, { token: staff }));
  const [event] = await sub.received(1);
  expect(event!.data.inventoryChanged).toEqual({ units: data.adjustInventory.units, hospital: { id: '2' } });
  expect(event!.eventId).toEqual(expect.any(String));
  await sub.dispose();
});

test('/metrics is not served through the load balancer; /ready is', async () => {
  expect((await fetch(`${lb}/metrics`)).status).toBe(403);
  const ready = await fetch(`${lb}/ready`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ status: 'ready' });
});

test('a response whose Cache-Tag header exceeds nginx default header buffer still passes (no 502)', async () => {
  // 60 donors with 10 donations each: hundreds of entity tags in each header.
  const res = await gql(
    lb,
    '{ donors(first: 60) { nodes { id donations(first: 10) { nodes { id } } } } }',
  );
  expect(res.status).toBe(200);
  const tagBytes = (res.headers.get('cache-tag') ?? '').length;
  // Over 4 KiB of this header alone: more than nginx's default buffer holds on most platforms.
  expect(tagBytes).toBeGreaterThan(4 * 1024);
});

// Last: it spends this client's whole anonymous budget.
test('a spoofed X-Forwarded-For does not buy a fresh rate-limit budget: the instance sees the address nginx appends', async () => {
  const statuses: number[] = [];
  for (let n = 0; n < RATE_LIMIT + 5; n++) {
    const res = await gql(lb, '{ hospitals { id } }', undefined, { headers: { 'x-forwarded-for': `203.0.113.${n}` } });
    statuses.push(res.status);
  }
  // Every request drew from one budget (127.0.0.1's), so the last ones were refused.
  expect(statuses.slice(-5)).toEqual([429, 429, 429, 429, 429]);
});
