// The cache's own numbers on GET /metrics, against real servers: Redis INFO figures (memory,
// evictions, keyspace hits) read at most once per interval however many scrapes arrive, L1 size,
// and the PostgreSQL pool's busy and waiting connections.
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scrape as scrapeMetrics, sum, type Sample } from '../helpers/metrics.js';
import { startPrivateRedis } from '../helpers/redis.js';
import { eventually } from '../subscriptions/helpers.js';

const db = useSeededDatabase({ donors: 20, hospitals: 4, donations: 30, campaigns: 2, requests: 4, seed: 15 });

const scrape = async (instance: Instance): Promise<Sample[]> => (await scrapeMetrics(instance)).samples;
const values = (samples: Sample[], name: string) => samples.filter((s) => s.name === name);

/** How many INFO commands the server has answered (INFO commandstats). */
async function infoCalls(client: Redis): Promise<number> {
  const text = await client.info('commandstats');
  return Number(/cmdstat_info:calls=(\d+)/.exec(text)?.[1] ?? 0);
}

test('Redis INFO on /metrics: memory, limit, evictions, keyspace hits; one reading for a burst of scrapes', async () => {
  const redis = await startPrivateRedis();
  const client = new Redis(redis.url, { lazyConnect: false });
  try {
    const a = await startInstance({ databaseUrl: db().url, redisUrl: redis.url });
    // A small limit under allkeys-lru, then more data than fits: Redis evicts.
    await client.config('SET', 'maxmemory', String(4 * 1024 * 1024));
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const filler = 'x'.repeat(10_000);
    for (let batch = 0; batch < 20; batch++) {
      const p = client.pipeline();
      for (let i = 0; i < 50; i++) p.set(`filler:${batch}:${i}`, filler);
      await p.exec();
    }
    await client.get('filler:19:49'); // a keyspace hit
    await client.get('filler:never'); // a keyspace miss

    const before = await infoCalls(client);
    const bursts = await Promise.all(Array.from({ length: 10 }, () => scrape(a)));
    const after = await infoCalls(client);
    // 10 concurrent scrapes: one reading (INFO memory + INFO stats), plus our own INFO commandstats.
    expect(after - before - 1).toBeLessThanOrEqual(2);
    expect(after - before - 1).toBeGreaterThan(0);
    // Scraped again at once: served from the reading, no INFO sent.
    const again = await scrape(a);
    expect((await infoCalls(client)) - after - 1).toBe(0);

    for (const s of [...bursts, again]) {
      const used = values(s, 'lifeline_redis_memory_used_bytes');
      expect(used).toHaveLength(1);
      expect(used[0]!.labels.node).toBe(`127.0.0.1:${redis.port}`);
      expect(used[0]!.value).toBeGreaterThan(1024 * 1024);
      expect(sum(s, 'lifeline_redis_memory_peak_bytes')).toBeGreaterThanOrEqual(used[0]!.value);
      expect(sum(s, 'lifeline_redis_memory_max_bytes')).toBe(4 * 1024 * 1024);
      expect(sum(s, 'lifeline_redis_evicted_keys')).toBeGreaterThan(0);
      expect(sum(s, 'lifeline_redis_keyspace_hits')).toBeGreaterThan(0);
      expect(sum(s, 'lifeline_redis_keyspace_misses')).toBeGreaterThan(0);
      expect(values(s, 'lifeline_redis_expired_keys')).toHaveLength(1);
    }
  } finally {
    client.disconnect();
  }
});

test('L1 bytes and entries grow with what the instance copies from Redis', async () => {
  const redis = await startPrivateRedis();
  const a = await startInstance({ databaseUrl: db().url, redisUrl: redis.url, env: { CACHE_MODE: 'entity' } });
  const empty = await scrape(a);
  expect(sum(empty, 'lifeline_cache_l1_entries')).toBe(0);
  expect(sum(empty, 'lifeline_cache_l1_bytes')).toBe(0);
  expect(values(empty, 'lifeline_cache_l1_evictions_total')).toHaveLength(1);
  const query = 'query OneDonor { donor(id: "3") { id name } }';
  expectNoErrors(await gql(a.url, query)); // miss, written back
  await eventually('the donor written back', () => a.app.services.cache!.stats.writes > 0);
  expectNoErrors(await gql(a.url, query)); // from Redis, copied into L1
  const s = await scrape(a);
  expect(sum(s, 'lifeline_cache_l1_entries')).toBeGreaterThan(0);
  expect(sum(s, 'lifeline_cache_l1_bytes')).toBeGreaterThan(0);
});

test('PostgreSQL pool: connections in use and statements waiting while the pool is exhausted', async () => {
  const a = await startInstance({ databaseUrl: db().url, redisUrl: null });
  const idle = await scrape(a);
  expect(sum(idle, 'lifeline_db_pool_max')).toBe(10);
  expect(sum(idle, 'lifeline_db_pool_in_use')).toBe(0);
  expect(sum(idle, 'lifeline_db_pool_waiting')).toBe(0);
  // Hold every connection and queue 3 more statements behind them.
  const blockers = Array.from({ length: 13 }, () => Promise.resolve(a.app.database.db.execute(sql`select pg_sleep(1.5)`)));
  try {
    await eventually('13 statements started', () => a.app.database.pool!().inUse + a.app.database.pool!().waiting === 13);
    const busy = await scrape(a);
    expect(sum(busy, 'lifeline_db_pool_in_use')).toBe(10);
    expect(sum(busy, 'lifeline_db_pool_waiting')).toBe(3);
  } finally {
    await Promise.allSettled(blockers);
  }
  const done = await scrape(a);
  expect(sum(done, 'lifeline_db_pool_in_use')).toBe(0);
  expect(sum(done, 'lifeline_db_pool_waiting')).toBe(0);
});
