// Automatic persisted queries are shared by every instance: a query registered through one
// instance is served by hash alone by another (behind a balancer, the next request rarely lands
// on the same instance), from Redis, under the cache prefix, with a TTL. The full-response cache
// is off here (CACHE_MODE=entity) so every answer comes from Apollo's persisted-query lookup.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { scanKeys, testRedisClient, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
const prefix = uniqueCachePrefix();
let a: Instance;
let b: Instance;
let redis: Redis | Cluster;

beforeAll(async () => {
  const env = { CACHE_PREFIX: prefix, CACHE_MODE: 'entity' };
  [a, b] = await Promise.all([
    startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env }),
    startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env }),
  ]);
  redis = testRedisClient();
}, 60_000);
afterAll(() => redis?.quit());

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function apq(instance: Instance, hash: string, query?: string) {
  const params = new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }) });
  if (query) params.set('query', query);
  const res = await fetch(`${instance.graphqlUrl}?${params}`, { headers: { 'apollo-require-preflight': 'true' } });
  return (await res.json()) as { data?: { hospitals: { id: string }[] }; errors?: { extensions?: { code?: string } }[] };
}

test('a query registered on one instance is served by hash on another, from Redis under the prefix with a TTL', async () => {
  const query = `query SharedApq { hospitals { id name } } # ${prefix}`;
  const hash = sha(query);
  // Unknown everywhere at first.
  expect((await apq(b, hash)).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  // Registered through A ...
  const registered = await apq(a, hash, query);
  expect(registered.errors).toBeUndefined();
  // ... served by hash alone through B (the registration is written in the background: bounded wait).
  let served = await apq(b, hash);
  for (let i = 0; i < 50 && served.errors?.[0]?.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    served = await apq(b, hash);
  }
  expect(served.errors).toBeUndefined();
  expect(served.data).toEqual(registered.data);

  const keys = await scanKeys(redis, `${prefix}apollo:*`);
  expect(keys).toEqual([`${prefix}apollo:apq:${hash}`]);
  const ttl = await redis.pttl(keys[0]!);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(24 * 60 * 60 * 1000);
});
