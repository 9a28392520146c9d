// L1 evictions on /metrics: an L1 too small for the working set evicts, and the metrics say so
// (bytes held stay under the limit). The cache core runs on the real Redis store; the metrics
// are the same registry GET /metrics serves.
import { createCache } from '../../src/cache/cache.js';
import { createKeyspace } from '../../src/cache/keys.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { testRedisClient, uniqueCachePrefix } from '../helpers/redis.js';

const redis = testRedisClient();
afterAll(() => redis.quit());

const valueOf = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

test('an L1 smaller than the working set evicts; bytes, entries and evictions are on /metrics', async () => {
  const L1_BYTES = 8 * 1024;
  const cache = createCache({ store: createRedisStore(redis, createKeyspace(uniqueCachePrefix())), logger: createLogger('silent'), l1MaxBytes: L1_BYTES });
  const metrics = createMetrics();
  metrics.sources.cache = () => ({ stats: cache.stats, health: cache.health() });
  try {
    const keys = Array.from({ length: 40 }, (_, i) => `Donor:${i + 1}`);
    const writer = cache.newScope();
    await cache.get(writer, keys);
    await cache.set(writer, keys.map((key, i) => ({ key, value: { id: i + 1, bio: 'x'.repeat(500) }, tags: [key], ttlMs: 60_000 })));
    // Each read from Redis copies the entry into L1; 40 × ~600 bytes do not fit in 8 KiB.
    for (const key of keys) expect((await cache.get(cache.newScope(), [key])).get(key)).toBeDefined();

    const text = await metrics.scrape();
    const bytes = valueOf(text, 'lifeline_cache_l1_bytes');
    const entries = valueOf(text, 'lifeline_cache_l1_entries');
    const evictions = valueOf(text, 'lifeline_cache_l1_evictions_total');
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(L1_BYTES);
    expect(entries).toBeGreaterThan(0);
    expect(entries).toBeLessThan(40);
    expect(evictions).toBeGreaterThan(0);
    expect(entries + evictions).toBe(40);
  } finally {
    cache.close();
  }
});
