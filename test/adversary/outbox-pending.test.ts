// The other side of "one instance cut off from Redis": when another instance still holds a
// serving lease and has not applied the cut-off writer's invalidation within the writer's
// bound, the writer must not answer success. It answers INVALIDATION_PENDING (committed, with
// the time by which every instance shows the change), and that time holds.
// B is made a slow relay on purpose (no LISTEN, one poll a minute, a 12 s lease): it holds its
// lease but applies nothing during the test, which is what a stalled or lagging relay looks like.
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const db = useSeededDatabase();
let proxy: TcpProxy;
let a: Instance;
let b: Instance;
let staff: string;
const LEASE_MS = 12_000;

beforeAll(async () => {
  const target = new URL(testRedisUrl());
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
  const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_TIMEOUT_MS: '500' };
  a = await startInstance({ databaseUrl: db().url, redisUrl: proxy.urlFor(testRedisUrl()), env, appOptions: { outbox: { settleMs: 1_000 } } });
  b = await startInstance({
    databaseUrl: db().url,
    redisUrl: testRedisUrl(),
    env,
    appOptions: { outbox: { listen: false, pollMs: 60_000, leaseMs: LEASE_MS } },
  });
  staff = (await demoTokens(b.url)).staff;
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await proxy?.close();
});

const read = (url: string, id: string) => gql(url, `{ donor(id: "${id}") { id city } }`);

test('a lease holder that has not applied the row: the writer answers INVALIDATION_PENDING, and visibleBy holds', async () => {
  await read(b.url, '35');
  const cached = await read(b.url, '35');
  expect(cached.headers.get('x-cache')).toBe('HIT');
  const old = expectNoErrors(cached).donor.city as string;

  proxy.cut();
  const res = await gql(a.url, 'mutation { updateDonor(id: "35", input: { city: "Pending-1" }) { city } }', undefined, { token: staff, timeoutMs: 30_000 });
  const error = res.body.errors?.[0];
  expect(error?.extensions).toMatchObject({ code: 'INVALIDATION_PENDING', committed: true, visibleBy: expect.any(String) });
  const visibleBy = Date.parse(error!.extensions!.visibleBy as string);
  expect(visibleBy).toBeGreaterThan(Date.now());
  expect(visibleBy).toBeLessThanOrEqual(Date.now() + LEASE_MS + 1_000);
  // Why success would have been a lie: B still serves the previous value right now.
  expect(expectNoErrors(await read(b.url, '35')).donor.city).toBe(old);
  // The change is committed (A reads PostgreSQL while cut off) ...
  expect(expectNoErrors(await read(a.url, '35')).donor.city).toBe('Pending-1');
  // ... and from visibleBy on, B shows it too.
  await new Promise((r) => setTimeout(r, Math.max(0, visibleBy - Date.now()) + 100));
  for (let i = 0; i < 5; i++) expect(expectNoErrors(await read(b.url, '35')).donor.city).toBe('Pending-1');
  proxy.heal();
}, 60_000);
