// PostgreSQL down: cached queries are still answered, everything else (all mutations
// included) fails fast with SERVICE_UNAVAILABLE, nothing hangs, and the instance recovers by
// itself once PostgreSQL is back. Uses this file's own postgres, never the shared one.
import { createDatabase } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { seedDatabase } from '../../src/db/seed.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, SMALL_SEED } from '../helpers/fixtures.js';
import { expectNoErrors, gql, type GqlResponse } from '../helpers/graphql.js';
import { testRedisUrl } from '../helpers/redis.js';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';

const DEADLINE_MS = 3_000;
let pg: PrivatePostgres;
let app: Instance;
let tokens: Awaited<ReturnType<typeof demoTokens>>;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  const database = await createDatabase({ url: pg.url, maxConnections: 2 });
  try {
    await runMigrations(database);
    await seedDatabase(database.db, SMALL_SEED);
  } finally {
    await database.close();
  }
  // A short request deadline so the hung case is quick to test (default 15 s).
  app = await startInstance({ databaseUrl: pg.url, redisUrl: testRedisUrl(), env: { REQUEST_TIMEOUT_MS: String(DEADLINE_MS) } });
  tokens = await demoTokens(app.url);
}, 90_000);

afterAll(async () => {
  await app?.stop();
  await pg?.stop();
});

const codeOf = (res: GqlResponse) => res.body?.errors?.[0]?.extensions?.code;
const CACHED = '{ hospitals { id name region } }';
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
};

/** Polls until `probe` holds (bounded); returns how long it took. The failure names the last answer. */
async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000, last?: () => string): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms${last ? `; last answer: ${last()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - started;
}

/** Polls an uncached donor query until the database answers it again. */
async function untilQueriesWork(id: string): Promise<number> {
  let answer = '';
  return until(
    'queries work again',
    async () => {
      const res = await gql(app.url, `{ donor(id: "${id}") { id name } }`);
      answer = `HTTP ${res.status} ${res.text.slice(0, 300)}`;
      return res.body?.data?.donor?.id === id;
    },
    30_000,
    () => answer,
  );
}

const UNCACHED: [string, string, 'staff' | null][] = [
  ['an uncached query', '{ donor(id: "3") { id name } }', null],
  ['a list query', '{ donors(first: 5, region: "North") { totalCount } }', null],
  ['a mutation', 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: 1) { units } }', 'staff'],
  ['another mutation', 'mutation { createBloodRequest(input: { hospitalId: "2", bloodGroup: A_POS, unitsNeeded: 2, urgency: URGENT }) { id } }', 'staff'],
  ['login', `mutation { login(email: "${DEMO_ACCOUNTS.donor.email}", password: "${DEMO_ACCOUNTS.donor.password}") { accessToken } }`, null],
];

test('killed: cached answers go on, the rest fails fast with SERVICE_UNAVAILABLE, recovery without restart', async () => {
  expectNoErrors(await gql(app.url, CACHED));
  expect((await gql(app.url, CACHED)).headers.get('x-cache')).toBe('HIT');

  await pg.kill();

  // The cached response is still served (no SQL needed).
  const [hit, hitMs] = await timed(() => gql(app.url, CACHED));
  expect(expectNoErrors(hit).hospitals.length).toBeGreaterThan(0);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect(hitMs).toBeLessThan(1_000);

  // Everything else: SERVICE_UNAVAILABLE, fast, with no data and no internals.
  for (const [name, query, who] of UNCACHED) {
    const [res, ms] = await timed(() => gql(app.url, query, undefined, { token: who ? tokens[who] : undefined }));
    expect({ name, code: codeOf(res) }).toEqual({ name, code: 'SERVICE_UNAVAILABLE' });
    expect(res.body.errors![0]!.message).toMatch(/database is unavailable/);
    expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|stack/);
    expect(ms).toBeLessThan(1_500);
  }
  // Twenty at once (more than the pool's 10 connections): all answered, none slower than the bound.
  const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => timed(() => gql(app.url, `{ donor(id: "${10 + i}") { id } }`))));
  for (const [res, ms] of burst) {
    expect(codeOf(res)).toBe('SERVICE_UNAVAILABLE');
    expect(ms).toBeLessThan(2_500);
  }
  const ready = await fetch(`${app.url}/ready`);
  expect(ready.status).toBe(503);
  const report = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean; error?: string }> };
  expect(report.status).toBe('unavailable');
  expect(report.checks.postgres!.ok).toBe(false);
  expect(report.checks.postgres!.error).toEqual(expect.any(String));

  await pg.start();
  // No restart of the instance: its pool reconnects on the next request.
  await untilQueriesWork('3');
  expectNoErrors(await gql(app.url, UNCACHED[2]![1], undefined, { token: tokens.staff }));
  expectNoErrors(await gql(app.url, UNCACHED[4]![1]));
  // Ready again without a restart, within a bound: the cache's serving lease lapsed while the
  // invalidation outbox was unreachable, and comes back with the relay's next round.
  let lastReady = 0;
  await until('/ready answers 200 again', async () => (lastReady = (await fetch(`${app.url}/ready`)).status) === 200, 10_000, () => `last /ready status ${lastReady}`);
}, 60_000);

test('hung (SIGSTOP): requests end within a bound instead of waiting forever; then it recovers', async () => {
  expectNoErrors(await gql(app.url, '{ donor(id: "4") { id } }'));
  pg.pause();
  try {
    const results = await Promise.all(
      // Ids and filters no earlier request used, so nothing is answered from the cache.
      UNCACHED.map(([, q, who]) => q.replace('id: "3"', 'id: "31"').replace('first: 5, region: "North"', 'first: 7, region: "South"')).map((query, i) => [query, UNCACHED[i]![2]] as const)
        .map(([query, who]) => timed(() => gql(app.url, query, undefined, { token: who ? tokens[who] : undefined, timeoutMs: 30_000 }))),
    );
    for (const [res, ms] of results) {
      expect(codeOf(res)).toBe('SERVICE_UNAVAILABLE');
      // The deadline (or the connect timeout, 3 s, for a request that needed a new connection).
      expect(ms).toBeLessThan(DEADLINE_MS + 2_000);
    }
    expect(results.some(([res]) => res.status === 503 && /did not complete within/.test(res.body.errors![0]!.message))).toBe(true);
    const [ready, readyMs] = await timed(() => fetch(`${app.url}/ready`));
    expect(ready.status).toBe(503);
    expect(readyMs).toBeLessThan(3_000);
  } finally {
    pg.resume();
  }
  await untilQueriesWork('5');
}, 60_000);
