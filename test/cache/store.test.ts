// One contract for the cache stores, run against the in-process engine and real Redis
// (ARCHITECTURE habit 18). The fence is the heart of it: a reader that loaded data before
// an invalidation must never store it after.
import { createKeyspace } from '../../src/cache/keys.js';
import { createMemoryStore } from '../../src/cache/memory-store.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import type { CacheStore } from '../../src/cache/store.js';
import { scanKeys, testRedisClient, uniqueCachePrefix } from '../helpers/redis.js';

const redis = testRedisClient();
afterAll(() => redis.quit());

const engines: [string, () => { store: CacheStore; prefix: string }][] = [
  ['memory', () => ({ store: createMemoryStore(), prefix: '' })],
  [
    'redis',
    () => {
      const prefix = uniqueCachePrefix();
      return { store: createRedisStore(redis, createKeyspace(prefix)), prefix };
    },
  ],
];

describe.each(engines)('%s store', (engine, make) => {
  let store: CacheStore;
  let prefix: string;
  beforeEach(() => ({ store, prefix } = make()));

  const item = (key: string, tags: string[], value = 'v') => ({ key, value, tags, ttlMs: 60_000 });

  // The epoch a fresh keyspace starts in: '0' in memory; on Redis a fresh, never reused name.
  let e: string;
  beforeEach(async () => ({ epoch: e } = await store.read('0', [], [])));

  test("write-through: an older commit never replaces a newer one, in whichever order they invalidate", async () => {
    const tags = ['InventoryItem:3:O_NEG', 'InventoryItem'];
    const through = (value: string, commitVersion: string) => ({ ...item(tags[0]!, tags, value), commitVersion });
    const invalidateAs = (commitVersion: string) => store.invalidate(tags, [{ tag: tags[0]!, commitVersion }]);
    const value = async () => (await store.read(e, [tags[0]!], [])).values[0];

    // Commit 200 invalidates first, commit 100 (the earlier one) after it; then either writes through.
    const { clock: g200 } = await invalidateAs('200');
    const { clock: g100 } = await invalidateAs('100');
    expect(await store.write(e, [through('40', '100')], g100)).toEqual([false]); // older than a commit already invalidated
    expect(await store.write(e, [through('41', '200')], g200)).toEqual([false]); // its invalidation is no longer the latest
    expect(await value()).toBeNull(); // the next reader goes to the database: never 40 after 41 was acknowledged

    // The same, the older commit writing through before the newer one invalidates: replaced, then dropped.
    const { clock: g300 } = await invalidateAs('300');
    expect(await store.write(e, [through('42', '300')], g300)).toEqual([true]);
    const { clock: g400 } = await invalidateAs('400');
    expect(await value()).toBeNull();
    expect(await store.write(e, [through('43', '400')], g400)).toEqual([true]);
    expect(await value()).toBe('43');

    // An invalidation without a commit (a purge, the outbox relay) after it: nothing older gets in.
    const { clock: g500 } = await invalidateAs('500');
    await store.invalidate([tags[0]!]);
    expect(await store.write(e, [through('44', '500')], g500)).toEqual([false]);
    // Commit versions compare as numbers of any length, not as text.
    await invalidateAs('1000');
    const { clock: g99 } = await invalidateAs('999');
    expect(await store.write(e, [through('45', '999')], g99)).toEqual([false]);
  });

  test('read returns the clock, the epoch and the entries written under it', async () => {
    const first = await store.read(e, ['Donor:1'], []);
    expect(first).toMatchObject({ epoch: e, values: [null] });
    expect(await store.write(e, [item('Donor:1', ['Donor:1'], 'hello')], first.clock)).toEqual([true]);
    const second = await store.read(e, ['Donor:1'], ['Donor:1']);
    expect(second.values).toEqual(['hello']);
    expect(second.stamps[0]).toBe('hello'.slice(0, 24));
  });

  test('a write fenced before an invalidation of one of its tags is refused; others are stored', async () => {
    const { clock: fence } = await store.read(e, [], []);
    await store.invalidate(['Donor:1']);
    const stored = await store.write(e, [item('Donor:1', ['Donor:1']), item('Donor:2', ['Donor:2']), item('list', ['Donor:list', 'Donor:1'])], fence);
    expect(stored).toEqual([false, true, false]);
    // A reader that started after the invalidation may store.
    const { clock: later } = await store.read(e, [], []);
    expect(await store.write(e, [item('Donor:1', ['Donor:1'])], later)).toEqual([true]);
  });

  test('invalidate deletes every entry indexed under the tags and counts them', async () => {
    const { clock } = await store.read(e, [], []);
    await store.write(e, [item('a', ['t1']), item('b', ['t1', 't2']), item('c', ['t2']), item('d', ['t3'])], clock);
    const { deleted } = await store.invalidate(['t1', 't2']);
    expect(deleted).toBe(3);
    expect((await store.read(e, ['a', 'b', 'c', 'd'], [])).values).toEqual([null, null, null, 'v']);
  });

  test('a new epoch orphans everything: old entries are unreachable and writes under the old epoch are refused', async () => {
    const { clock } = await store.read(e, [], []);
    await store.write(e, [item('a', ['t'])], clock);
    const epoch = await store.bumpEpoch();
    expect(epoch).not.toBe(e);
    expect((await store.read(epoch, ['a'], [])).values).toEqual([null]);
    expect(await store.write(e, [item('b', ['t'])], clock)).toEqual([false]);
    expect(await store.write(epoch, [item('b', ['t'])], clock)).toEqual([true]);
  });

  test('a lease has one holder until released', async () => {
    expect(await store.tryLease(e, 'k', 'me', 5_000)).toBe(true);
    expect(await store.tryLease(e, 'k', 'you', 5_000)).toBe(false);
    await store.releaseLease(e, 'k', 'you');
    expect(await store.tryLease(e, 'k', 'you', 5_000)).toBe(false);
    await store.releaseLease(e, 'k', 'me');
    expect(await store.tryLease(e, 'k', 'you', 5_000)).toBe(true);
  });

  if (engine === 'redis') {
    test('every key the cache writes expires (no KEYS, no unbounded sets)', async () => {
      const { clock } = await store.read(e, [], []);
      await store.write(e, [item('Donor:1', ['Donor:1', 'Donor']), item('resp:public:x', ['Donor:1', 'Donor:list'])], clock);
      await store.invalidate(['Hospital:1']);
      await store.tryLease(e, 'k', 'me', 5_000);
      const keys = await scanKeys(redis, `${prefix}*`);
      const noTtl = [];
      for (const k of keys) if ((await redis.pttl(k)) < 0 && !k.endsWith(':meta')) noTtl.push(k);
      expect(keys.length).toBeGreaterThan(5);
      expect(noTtl).toEqual([]);
      expect(keys.some((k) => k.endsWith(':Donor:1'))).toBe(true);
    });
  }
});
