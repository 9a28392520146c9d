// Reads of one event-loop turn share one store round trip (cache.ts, batchedRead): a hot key
// under many concurrent requests costs one read, and no caller gets an answer older than
// its own start.
import { createCache } from '../../src/cache/cache.js';
import { createKeyspace } from '../../src/cache/keys.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import type { CacheStore } from '../../src/cache/store.js';
import { createLogger } from '../../src/observability/logger.js';
import { testRedisClient, uniqueCachePrefix } from '../helpers/redis.js';

const redis = testRedisClient();
afterAll(() => redis.quit());

/** The real Redis store, with its read round trips counted. */
function countingStore(): { store: CacheStore; reads: () => number } {
  const real = createRedisStore(redis, createKeyspace(uniqueCachePrefix()));
  let reads = 0;
  return {
    store: { ...real, read: (...args) => (reads++, real.read(...args)) },
    reads: () => reads,
  };
}

test('concurrent gets in one turn cost one round trip, each with its own keys answered', async () => {
  const { store, reads } = countingStore();
  const cache = createCache({ store, logger: createLogger('silent') });
  const writer = cache.newScope();
  await cache.get(writer, ['Donor:1']);
  await cache.set(writer, [
    { key: 'Donor:1', value: { id: 1 }, tags: ['Donor:1'], ttlMs: 60_000 },
    { key: 'Donor:2', value: { id: 2 }, tags: ['Donor:2'], ttlMs: 60_000 },
  ]);
  const before = reads();
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => cache.get<{ id: number }>(cache.newScope(), i % 2 ? ['Donor:1'] : ['Donor:2', 'Donor:3'])),
  );
  expect(reads() - before).toBe(1);
  results.forEach((hits, i) => {
    if (i % 2) expect(hits.get('Donor:1')?.value).toEqual({ id: 1 });
    else {
      expect(hits.get('Donor:2')?.value).toEqual({ id: 2 });
      expect(hits.has('Donor:3')).toBe(false);
    }
  });
  cache.close();
});

test('a get issued after an invalidation was acknowledged never shares an earlier read', async () => {
  const { store } = countingStore();
  const cache = createCache({ store, logger: createLogger('silent') });
  for (let round = 0; round < 20; round++) {
    const scope = cache.newScope();
    await cache.get(scope, ['Donor:7']);
    await cache.set(scope, [{ key: 'Donor:7', value: { round }, tags: ['Donor:7'], ttlMs: 60_000 }]);
    // A read in flight while the invalidation happens may see either; one started after the ack must miss.
    const inFlight = cache.get(cache.newScope(), ['Donor:7']);
    await cache.invalidate(['Donor:7']);
    const after = await cache.get(cache.newScope(), ['Donor:7']);
    expect(after.has('Donor:7')).toBe(false);
    await inFlight;
  }
  cache.close();
});

test('a failed round trip fails every caller of the batch, and the next batch works', async () => {
  const { store } = countingStore();
  let fail = true;
  const flaky: CacheStore = { ...store, read: (...args) => (fail ? Promise.reject(new Error('boom')) : store.read(...args)) };
  const cache = createCache({ store: flaky, logger: createLogger('silent'), breakerCooldownMs: 0 });
  const scopes = [cache.newScope(), cache.newScope()];
  const failed = await Promise.all(scopes.map((s) => cache.get(s, ['Donor:1'])));
  expect(failed.every((hits) => hits.size === 0)).toBe(true);
  // Neither may write back: their fence is unknown.
  expect(scopes.every((s) => !s.writable)).toBe(true);
  fail = false;
  const ok = cache.newScope();
  await cache.get(ok, ['Donor:1']);
  expect(ok.fence).not.toBeNull();
  cache.close();
});

test('an answer that arrived while the event loop was busy beats the timeout (no spurious breaker trips)', async () => {
  const { store } = countingStore();
  const cache = createCache({ store, logger: createLogger('silent'), timeoutMs: 50 });
  const writer = cache.newScope();
  await cache.get(writer, ['Donor:5']);
  await cache.set(writer, [{ key: 'Donor:5', value: { id: 5 }, tags: ['Donor:5'], ttlMs: 60_000 }]);
  for (let round = 0; round < 5; round++) {
    const pending = cache.get<{ id: number }>(cache.newScope(), ['Donor:5']);
    // A CPU-bound instance: the loop is blocked well past the timeout while Redis answers.
    setImmediate(() => {
      const until = Date.now() + 200;
      while (Date.now() < until);
    });
    const hits = await pending;
    expect(hits.get('Donor:5')?.value).toEqual({ id: 5 });
    expect(cache.health()).toMatchObject({ usable: true, state: 'ok' });
  }
  cache.close();
});
