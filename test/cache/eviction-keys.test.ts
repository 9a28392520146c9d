// A Redis under maxmemory may evict ANY key the cache writes. Here each kind is deleted (DEL: what
// an eviction does) at the worst moment, between a read's fence and its write-back or between a
// write and a later read, against a real Redis; no read may then serve the value from before the
// change. The kinds are found by name, whatever the keyspace layout: an entry, a tag's index, a
// tag's version stamp, the clock, the epoch.
import { createCache, type Cache } from '../../src/cache/cache.js';
import { createKeyspace } from '../../src/cache/keys.js';
import { createRedisStore, logEvictionPolicy } from '../../src/cache/redis-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { scanKeys, startPrivateRedis, testRedisClient, uniqueCachePrefix } from '../helpers/redis.js';
import { Redis } from 'ioredis';

const logger = createLogger('silent');
const redis = testRedisClient();
afterAll(() => redis.quit());

type Kind = 'entry' | 'index' | 'stamp' | 'clock' | 'epoch';

interface Rig {
  /** Two caches (two instances) over one keyspace. */
  a: Cache;
  b: Cache;
  /** Deletes every key of that kind the cache has written; returns how many. */
  evict(kind: Kind): Promise<number>;
  close(): void;
}

async function rig({ l1 = false } = {}): Promise<Rig> {
  const keys = createKeyspace(uniqueCachePrefix());
  const make = () => createCache({ store: createRedisStore(redis, keys), logger, l1MaxBytes: l1 ? 1 << 20 : 0 });
  const a = make();
  const b = make();
  const kindOf = (key: string): Kind[] => {
    const rest = key.slice(keys.base.length);
    if (rest === 'meta') return ['clock', 'epoch'];
    if (rest === 'clock') return ['clock'];
    if (rest === 'epoch') return ['epoch'];
    if (/^v:|^[^:]+:vb:/.test(rest)) return ['stamp'];
    if (/^[^:]+:idx:/.test(rest)) return ['index'];
    if (/^[^:]+:lease:/.test(rest)) return [];
    return ['entry'];
  };
  return {
    a,
    b,
    async evict(kind) {
      const victims = (await scanKeys(redis, `${keys.base}*`)).filter((k) => kindOf(k).includes(kind));
      for (const k of victims) await redis.del(k);
      return victims.length;
    },
    close() {
      a.close();
      b.close();
    },
  };
}

const TAGS = ['Donor:1'];
const describeDonor = () => ({ tags: TAGS, ttlMs: 60_000 });

/** Stores `value` under Donor:1 through `cache`, as a read-through would after a miss. */
async function store(cache: Cache, value: string, key = 'Donor:1') {
  const scope = cache.newScope();
  await cache.get(scope, [key]);
  expect(await cache.set(scope, [{ key, value, tags: [key], ttlMs: 60_000 }])).toEqual([true]);
}

/** What later requests on `cache` get for Donor:1 (two reads: the first may only learn a new epoch). */
async function laterReads(cache: Cache): Promise<(string | null)[]> {
  const seen: (string | null)[] = [];
  for (let i = 0; i < 2; i++) seen.push((await cache.get<string>(cache.newScope(), ['Donor:1'])).get('Donor:1')?.value ?? null);
  return seen;
}

describe('evicted between a write and a later read: the old value is never served', () => {
  test('entry: a miss', async () => {
    const r = await rig();
    await store(r.a, 'old');
    expect(await r.evict('entry')).toBeGreaterThan(0);
    await r.a.invalidate(TAGS);
    expect(await laterReads(r.b)).toEqual([null, null]);
    r.close();
  });

  test("index: the invalidation cannot find the entry, the read must not serve it", async () => {
    const r = await rig();
    await store(r.a, 'old');
    expect(await r.evict('index')).toBeGreaterThan(0);
    await r.a.invalidate(TAGS); // the row changed; the entry listing it is not deleted
    expect(await laterReads(r.b)).not.toContain('old');
    r.close();
  });

  test('index, then the stamp of the invalidation too', async () => {
    const r = await rig();
    await store(r.a, 'old');
    await r.evict('index');
    await r.a.invalidate(TAGS);
    expect(await r.evict('stamp')).toBeGreaterThan(0);
    expect(await laterReads(r.b)).not.toContain('old');
    r.close();
  });

  test('index, with an L1 copy on the other instance: its stamp check must fail', async () => {
    const r = await rig({ l1: true });
    await store(r.a, 'old');
    await laterReads(r.b); // B now holds an L1 copy, validated against the L2 entry's stamp
    await r.evict('index');
    await r.a.invalidate(TAGS);
    expect(await laterReads(r.b)).not.toContain('old');
    r.close();
  });

  test('epoch: a purge moved the epoch; losing the epoch key must not bring the old epoch back', async () => {
    const r = await rig();
    await store(r.a, 'old');
    await r.a.bumpEpoch(); // purge "*": the entry above is orphaned, no index of the new epoch lists it
    await r.a.invalidate(TAGS); // and the row changes
    expect(await r.evict('epoch')).toBeGreaterThan(0);
    expect(await laterReads(r.b)).not.toContain('old');
    expect(await laterReads(r.a)).not.toContain('old');
    r.close();
  });
});

describe("evicted between a read's fence and its write-back: the stale value is not stored (or not served)", () => {
  /** A reader takes its fence and loads 'old'; meanwhile the row changes and `kind` is evicted; then it writes back. */
  async function staleWriteBack(kind: Kind, before?: (r: Rig) => Promise<void>) {
    const r = await rig();
    await before?.(r);
    const reader = r.a.newScope();
    await r.a.get(reader, ['Donor:1']); // fence taken, miss: "the database" says 'old'
    await r.b.invalidate(TAGS); // the row becomes 'new'
    expect(await r.evict(kind)).toBeGreaterThan(0);
    await r.a.set(reader, [{ key: 'Donor:1', value: 'old', ...describeDonor() }]);
    const seen = [...(await laterReads(r.b)), ...(await laterReads(r.a))];
    r.close();
    return seen;
  }

  test('stamp: a missing version must not read as "never invalidated"', async () => {
    expect(await staleWriteBack('stamp')).not.toContain('old');
  });

  test('clock: a restarted clock must not let an older fence pass', async () => {
    // Move the clock on first, so that a clock restarting from nothing would fall below the fence.
    const seen = await staleWriteBack('clock', async (r) => {
      for (let i = 0; i < 5; i++) await r.b.invalidate([`Hospital:${i}`]);
    });
    expect(seen).not.toContain('old');
  });

  test('clock, evicted before the invalidation: the new clock must not fall below the fence', async () => {
    const r = await rig();
    for (let i = 0; i < 5; i++) await r.b.invalidate([`Hospital:${i}`]);
    const reader = r.a.newScope();
    await r.a.get(reader, ['Donor:1']);
    expect(await r.evict('clock')).toBeGreaterThan(0);
    await r.b.invalidate(TAGS);
    await r.a.set(reader, [{ key: 'Donor:1', value: 'old', ...describeDonor() }]);
    expect([...(await laterReads(r.b)), ...(await laterReads(r.a))]).not.toContain('old');
    r.close();
  });

  test('entry: only a miss', async () => {
    expect(await staleWriteBack('entry', (r) => store(r.a, 'other', 'Donor:2'))).not.toContain('old');
  });
});

test('after versions were evicted, a reader that starts afterwards stores and hits again', async () => {
  // Eviction safety must not turn into "refuse everything whose tag has no version".
  const r = await rig();
  await r.a.invalidate(['Donor:1']);
  await r.evict('stamp');
  const items = Array.from({ length: 40 }, (_, i) => `Donor:${i + 100}`);
  const scope = r.a.newScope();
  await r.a.get(scope, items);
  expect(await r.a.set(scope, items.map((key) => ({ key, value: key, tags: [key], ttlMs: 60_000 })))).toEqual(items.map(() => true));
  const hits = await r.b.get<string>(r.b.newScope(), items);
  expect(hits.size).toBe(items.length);
  r.close();
});

describe("start-up: Redis's memory limit and eviction policy are logged", () => {
  const collect = () => {
    const lines: { level: 'info' | 'warn'; msg: string; fields: object }[] = [];
    const logger = {
      info: (fields: object, msg: string) => void lines.push({ level: 'info', msg, fields }),
      warn: (fields: object, msg: string) => void lines.push({ level: 'warn', msg, fields }),
    };
    return { lines, logger: logger as unknown as Parameters<typeof logEvictionPolicy>[1] };
  };

  test('noeviction without maxmemory: a warning (the cache grows until Redis refuses writes)', async () => {
    const server = await startPrivateRedis({ args: ['--maxmemory', '0', '--maxmemory-policy', 'noeviction'] });
    const client = new Redis(server.url);
    const { lines, logger } = collect();
    expect(await logEvictionPolicy(client, logger)).toEqual({ maxmemory: 0, policy: 'noeviction' });
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/no maxmemory and policy noeviction/) })]);
    client.disconnect();
    await server.stop();
  });

  test('a limit with an LRU policy: one info line with both', async () => {
    const server = await startPrivateRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] });
    const client = new Redis(server.url);
    const { lines, logger } = collect();
    expect(await logEvictionPolicy(client, logger)).toEqual({ maxmemory: 64 * 1024 * 1024, policy: 'allkeys-lru' });
    expect(lines).toEqual([{ level: 'info', msg: expect.stringMatching(/eviction only costs cache misses/), fields: { maxmemory: 64 * 1024 * 1024, policy: 'allkeys-lru' } }]);
    client.disconnect();
    await server.stop();
  });

  test('CONFIG refused (as on managed Redis): said so, no failure', async () => {
    const server = await startPrivateRedis({ args: ['--rename-command', 'CONFIG', ''] });
    const client = new Redis(server.url);
    const { lines, logger } = collect();
    expect(await logEvictionPolicy(client, logger)).toEqual({ maxmemory: null, policy: null });
    expect(lines).toEqual([expect.objectContaining({ level: 'info', msg: expect.stringMatching(/CONFIG GET refused/) })]);
    client.disconnect();
    await server.stop();
  });
});

test('a version bucket that grew too big starts again from a floor: a tag whose version it dropped still refuses an older fence', async () => {
  const keys = createKeyspace(uniqueCachePrefix());
  const store = createRedisStore(redis, keys, { maxTagsPerBucket: 4 });
  const cache = createCache({ store, logger, l1MaxBytes: 0 });
  const reader = cache.newScope();
  await cache.get(reader, ['Donor:1']);
  await cache.invalidate(TAGS);
  // Enough other tags that every bucket (Donor:1's too) passes its limit and is started again.
  for (let i = 0; i < 80; i++) await cache.invalidate([`Hospital:${i}`]);
  const buckets = (await scanKeys(redis, `${keys.base}*:vb:*`)).length;
  expect(buckets).toBeGreaterThan(0);
  for (const b of await scanKeys(redis, `${keys.base}*:vb:*`)) expect(await redis.hlen(b)).toBeLessThanOrEqual(4);
  expect(await cache.set(reader, [{ key: 'Donor:1', value: 'old', ...describeDonor() }])).toEqual([false]);
  expect(await laterReads(cache)).toEqual([null, null]);
  cache.close();
});
