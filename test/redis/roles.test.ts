// Two Redis roles (SPEC §3, CACHE_REDIS_URL): the cache and its L1-drop channel on a volatile
// Redis that may evict; sessions, rate limits and event streams on a durable one (AOF,
// noeviction). Two instances share both. The state Redis is then crashed and restarted from its
// AOF: a signed-in user's refresh token still works, and the cache, untouched, stays correct.
import { Redis } from 'ioredis';
import { startInstance, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scanKeys, startPrivateRedis, uniqueCachePrefix, type PrivateRedis } from '../helpers/redis.js';

const db = useSeededDatabase();
let state: PrivateRedis;
let cacheServer: PrivateRedis;
let stateClient: Redis;
let cacheClient: Redis;
let a: Instance;
let b: Instance;
const prefix = uniqueCachePrefix();

const DONOR = `query($id: ID!) { donor(id: $id) { id city } }`;
const UPDATE = `mutation($id: ID!, $c: String!) { updateDonor(id: $id, input: { city: $c }) { city } }`;
const REFRESH = `mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }`;

beforeAll(async () => {
  [state, cacheServer] = await Promise.all([
    startPrivateRedis({ appendonly: true, args: ['--maxmemory-policy', 'noeviction'] }),
    startPrivateRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] }),
  ]);
  const env = { CACHE_PREFIX: prefix, CACHE_REDIS_URL: cacheServer.url, RATE_LIMIT_PER_MINUTE: '1000' };
  a = await startInstance({ databaseUrl: db().url, redisUrl: state.url, env });
  b = await startInstance({ databaseUrl: db().url, redisUrl: state.url, env });
}, 60_000);

// Fresh admin clients per test, closed by the test: the servers restart and stop under them.
beforeEach(() => {
  stateClient = new Redis(state.url, { maxRetriesPerRequest: 1 });
  cacheClient = new Redis(cacheServer.url);
});
afterEach(async () => {
  await Promise.allSettled([stateClient.quit(), cacheClient.quit()]);
});

const cityOn = async (instance: Instance, id: string): Promise<string> => expectNoErrors(await gql(instance.url, DONOR, { id })).donor.city;

test('cache keys and the L1-drop channel live only in the cache Redis; sessions, rate limits and events only in the state Redis', async () => {
  const session = await login(a.url, 'staff');
  // Fill the cache on both instances, write through one, read the write back through the other.
  expect(await cityOn(a, '21')).toBe(await cityOn(b, '21'));
  expect(expectNoErrors(await gql(b.url, UPDATE, { id: '21', c: 'Roles-1' }, { token: session.accessToken })).updateDonor.city).toBe('Roles-1');
  expect(await cityOn(a, '21')).toBe('Roles-1');
  expect(await cityOn(b, '21')).toBe('Roles-1');

  const cacheKeys = await scanKeys(cacheClient, `${prefix}*`);
  const stateKeys = await scanKeys(stateClient, `${prefix}*`);
  const isCacheKey = (k: string) => k.startsWith(`${prefix}{${prefix}cache}:`);
  expect(cacheKeys.filter(isCacheKey).length).toBeGreaterThan(0);
  // Everything in the cache Redis is the cache's; nothing of the cache is in the state Redis.
  expect(cacheKeys.filter((k) => !isCacheKey(k))).toEqual([]);
  expect(stateKeys.filter(isCacheKey)).toEqual([]);
  expect(stateKeys.some((k) => k.startsWith(`${prefix}auth:rt:`))).toBe(true);
  expect(stateKeys.some((k) => k.startsWith(`${prefix}rl:`))).toBe(true);
  expect(cacheKeys.filter((k) => k.includes('auth:') || k.includes(':rl:') || k.includes('{events:'))).toEqual([]);
  // The L1-drop channel is subscribed on the cache Redis (once per instance), not on the state Redis.
  const channel = `${prefix}cache:invalidated`;
  expect(await cacheClient.pubsub('NUMSUB', channel)).toEqual([channel, 2]);
  expect(await stateClient.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
});

test('the state Redis crashes and restarts from its AOF: the signed-in user stays signed in, the cache stays correct', async () => {
  const session = await login(a.url, 'staff');
  expect(await cityOn(a, '22')).toBe(await cityOn(b, '22')); // cached on both
  const before = await stateClient.info('server');
  const runId = /run_id:(\w+)/.exec(before)![1];

  await state.restart(); // SIGKILL, then the same port and directory: redis-server loads appendonly files
  const after = await stateClient.info('server');
  expect(/run_id:(\w+)/.exec(after)![1]).not.toBe(runId);
  expect(await stateClient.info('persistence')).toMatch(/aof_enabled:1/);

  // The refresh token issued before the crash is still honoured (by either instance, once each
  // has reconnected). Bounded: the clients reconnect within a few seconds.
  let refreshed: { accessToken: string; refreshToken: string } | undefined;
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 100 && !refreshed && Date.now() < deadline; i++) {
    const res = await gql(b.url, REFRESH, { t: session.refreshToken });
    if (res.body?.data?.refreshToken) refreshed = res.body.data.refreshToken;
    else {
      // Only "Redis not reachable yet" may be retried: a refused token fails the test at once.
      expect(res.body.errors?.[0]?.extensions?.code).not.toBe('UNAUTHENTICATED');
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  expect(refreshed?.accessToken).toEqual(expect.any(String));
  // The rotated pair is the live one: the new access token writes, on the other instance.
  expect(expectNoErrors(await gql(a.url, UPDATE, { id: '22', c: 'After-AOF' }, { token: refreshed!.accessToken })).updateDonor.city).toBe('After-AOF');
  // The cache Redis was never restarted (its entries survive) and still answers correctly everywhere.
  expect(await cityOn(b, '22')).toBe('After-AOF');
  expect(await cityOn(a, '22')).toBe('After-AOF');
  expect((await scanKeys(cacheClient, `${prefix}{${prefix}cache}:*`)).length).toBeGreaterThan(0);
});

test('with the state Redis down, the cache on its own Redis stays in use and serves fresh reads after a write', async () => {
  const session = await login(a.url, 'staff');
  expect(await cityOn(b, '23')).toBe(await cityOn(a, '23'));
  await state.kill();
  try {
    // Sessions are unreachable: a signed, unexpired access token is admitted.
    const res = await gql(a.url, UPDATE, { id: '23', c: 'StateDown' }, { token: session.accessToken });
    expect(expectNoErrors(res).updateDonor.city).toBe('StateDown');
    expect(await cityOn(b, '23')).toBe('StateDown');
    expect(await cityOn(a, '23')).toBe('StateDown');
    // What an operator sees: sessions' Redis down, the cache and its Redis fine (not suspended).
    for (const instance of [a, b]) {
      const ready = (await (await fetch(`${instance.url}/ready`)).json()) as { checks: Record<string, { ok: boolean }> };
      expect({ redis: ready.checks.redis?.ok, cacheRedis: ready.checks['cache-redis']?.ok, cache: ready.checks.cache?.ok }).toEqual({ redis: false, cacheRedis: true, cache: true });
    }
  } finally {
    await state.restart();
  }
});
