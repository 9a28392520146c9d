// WEB_CONCURRENCY=2: one port, two worker processes that share the cache, sessions
// and invalidation through Redis like separate instances; a crashed worker is replaced; /metrics
// answers for all workers; SIGTERM drains every worker and the primary exits 0.
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { waitForLine } from '../helpers/process.js';
import { useSeededDatabase, demoTokens } from '../helpers/fixtures.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { freePort } from '../setup/global-setup.js';

const root = path.resolve(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const db = useSeededDatabase({ donors: 40, hospitals: 5, donations: 100, campaigns: 2, requests: 5, seed: 5 });
const SECRET = 'workers-test-secret-of-at-least-32-characters';

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'NODE_ENV', 'PORT', 'WEB_CONCURRENCY']) delete env[k];
  return { ...env, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0', ...extra };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
/** One request on a connection of its own (the primary hands out connections round-robin). */
function request(url: string, path: string, body?: unknown, token?: string, timeoutMs = 15_000): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      `${url}${path}`,
      {
        method: payload ? 'POST' : 'GET',
        agent: false,
        timeout: timeoutMs,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** pids that answered /health, each over a fresh connection. */
async function workerPids(url: string, tries = 20, timeoutMs?: number): Promise<Set<number>> {
  const pids = new Set<number>();
  for (let i = 0; i < tries; i++) pids.add((await request(url, '/health', undefined, undefined, timeoutMs)).json.pid);
  return pids;
}

const unitsOf = async (url: string) => {
  const { json } = await request(url, '/graphql', { query: '{ hospital(id: "1") { inventory { bloodGroup units } } }' });
  expect(json.errors).toBeUndefined();
  return (json.data.hospital.inventory as { bloodGroup: string; units: number }[]).find((i) => i.bloodGroup === 'A_POS')!.units;
};

test('two workers on one port: shared cache and invalidation, restart after a crash, aggregated metrics, clean stop', async () => {
  const port = await freePort();
  const child = spawn(tsx, ['src/main.ts'], {
    cwd: root,
    env: childEnv({ WEB_CONCURRENCY: '2', PORT: String(port), DATABASE_URL: db().url, REDIS_URL: testRedisUrl(), JWT_SECRET: SECRET, CACHE_PREFIX: uniqueCachePrefix(), SEED_DEMO_DATA: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const line = await waitForLine(child, /http:\/\/127\.0\.0\.1:\d+\/graphql \(2 workers\)/, 90_000);
    const url = line.replace(/\/graphql.*$/, '');
    const pids = await workerPids(url);
    expect(pids.size).toBe(2);
    expect(pids.has(child.pid!)).toBe(false);

    // A token signed by one worker is accepted by the other; a write through one is seen through both.
    const { staff } = await demoTokens(url);
    const before = await unitsOf(url);
    for (let i = 0; i < 4; i++) expect(await unitsOf(url)).toBe(before); // cached on both workers now
    const write = await request(url, '/graphql', { query: 'mutation { adjustInventory(hospitalId: "1", bloodGroup: A_POS, delta: 3) { units } }' }, staff);
    expect(write.json.errors).toBeUndefined();
    for (let i = 0; i < 6; i++) expect(await unitsOf(url)).toBe(before + 3);

    // /metrics counts the requests of both workers, whichever one answers the scrape.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const served = [...metrics.matchAll(/^lifeline_http_requests_total\{route="\/health",status="200"\} (\d+)/gm)].map((m) => Number(m[1]));
    expect(served).toHaveLength(1);
    expect(served[0]).toBeGreaterThanOrEqual(20);

    // A crashed worker is replaced. (A connection handed to it just as it died is lost with it,
    // as with any crashed server: hence short timeouts while it is being replaced.)
    const victim = [...pids][0]!;
    process.kill(victim, 'SIGKILL');
    const deadline = Date.now() + 60_000;
    let current = new Set<number>();
    while (Date.now() < deadline) {
      current = await workerPids(url, 10, 2_000).catch(() => new Set<number>());
      if (current.size === 2 && !current.has(victim)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(current.size).toBe(2);
    expect(current.has(victim)).toBe(false);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of current) expect(() => process.kill(pid, 0)).toThrow();
  } finally {
    child.kill('SIGKILL');
  }
}, 180_000);

test('workers that keep dying at start: the primary gives up and exits 1 (a supervisor sees the failure)', async () => {
  const child = spawn(tsx, ['src/main.ts'], {
    cwd: root,
    // Nothing listens on port 1: every worker fails at start.
    env: childEnv({ WEB_CONCURRENCY: '2', PORT: '0', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', REDIS_URL: testRedisUrl(), JWT_SECRET: SECRET }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(1);
  } finally {
    child.kill('SIGKILL');
  }
}, 90_000);

test('WEB_CONCURRENCY > 1 refuses to start without what workers must share', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ WEB_CONCURRENCY: '2', REDIS_URL: 'redis://127.0.0.1:1' }, /WEB_CONCURRENCY=2 needs DATABASE_URL/],
    [{ WEB_CONCURRENCY: '2', REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'postgres://x@127.0.0.1:1/x' }, /WEB_CONCURRENCY=2 needs JWT_SECRET/],
  ];
  for (const [env, pattern] of cases) {
    const result = spawnSync(tsx, ['src/main.ts'], { cwd: root, env: childEnv(env), encoding: 'utf8', timeout: 60_000 });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').filter((l) => !/^npm warn/.test(l))).toEqual([expect.stringMatching(pattern)]);
  }
}, 120_000);
