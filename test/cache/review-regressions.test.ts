// Regressions for defects a review found in the cache core, each forced deterministically.
import { createCache } from '../../src/cache/cache.js';
import { createMemoryStore } from '../../src/cache/memory-store.js';
import { createResponseCache, requestHash, type CachedResponse } from '../../src/cache/response-cache.js';
import type { CacheStore } from '../../src/cache/store.js';
import { createLogger } from '../../src/observability/logger.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const logger = createLogger('silent');
const deferred = <T = void>() => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};
const response = (body: string): CachedResponse => ({ body, contentType: 'application/json', maxAge: 60, scope: 'PUBLIC', storedAt: Date.now() });

describe('cache core', () => {
  test('a follower never takes a holder result computed before an invalidation it must see', async () => {
    const cache = createCache({ store: createMemoryStore(), logger, l1MaxBytes: 0 });
    const rc = createResponseCache({ cache });
    const request = { documentHash: 'q', variables: {}, format: 'application/json' };
    const holderLookup = await rc.lookup(requestHash(request), null);
    const holderRead = deferred();
    const finish = deferred();
    const holder = rc.coalesce(holderLookup, async (release) => {
      holderRead.resolve(); // read "units: 5" from the database ...
      await finish.promise;
      const stored = await rc.store(holderLookup, response('{"units":5}'), ['Inventory:O_NEG']);
      release(stored ? response('{"units":5}') : null);
    });
    await holderRead.promise;
    await cache.invalidate(['Inventory:O_NEG']); // ... a write commits and is acknowledged ...
    const followerLookup = await rc.lookup(requestHash(request), null); // ... then a new reader arrives.
    const follower = rc.coalesce(followerLookup, async () => {});
    finish.resolve();
    await holder;
    expect(await follower).toBe('execute');
    cache.close();
  });

  test('an operation whose epoch moved under it writes nothing back', async () => {
    const cache = createCache({ store: createMemoryStore(), logger, l1MaxBytes: 0 });
    const scope = cache.newScope();
    await cache.get(scope, ['Donor:8']); // fence taken; the old row is read from the database
    await cache.bumpEpoch(); // purgeCache("*") after an out-of-band fix
    await cache.get(scope, ['Donor:9']); // the operation goes on and sees the new epoch
    expect(await cache.set(scope, [{ key: 'Donor:8', value: { city: 'BeforeFix' }, tags: ['Donor:8'], ttlMs: 60_000 }])).toEqual([false]);
    expect((await cache.get(cache.newScope(), ['Donor:8'])).size).toBe(0);
    cache.close();
  });

  test('an operation whose first cache read failed writes nothing back, even if later reads work', async () => {
    const inner = createMemoryStore();
    let failNext = true;
    const store: CacheStore = {
      ...inner,
      read: (...args) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection reset'));
        }
        return inner.read(...args);
      },
    };
    const cache = createCache({ store, logger, l1MaxBytes: 0, breakerCooldownMs: 0 });
    const scope = cache.newScope();
    await cache.get(scope, ['Donor:7']); // fails: the old row comes from the database, unfenced
    await cache.invalidate(['Donor:7']); // a writer commits and invalidates
    await cache.get(scope, ['Donor:1']); // a later read of the same operation works
    expect(await cache.set(scope, [{ key: 'Donor:7', value: { city: 'Old' }, tags: ['Donor:7'], ttlMs: 60_000 }])).toEqual([false]);
    cache.close();
  });
});

describe('over HTTP, two instances', () => {
  const db = useSeededDatabase();
  let a: Instance;
  let b: Instance;
  let tokens: Awaited<ReturnType<typeof demoTokens>>;
  beforeAll(async () => {
    const env = { CACHE_PREFIX: uniqueCachePrefix() };
    a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
    b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
    tokens = await demoTokens(a.url);
  });

  test('a cached null for an id that does not exist yet is dropped when it is created', async () => {
    const [{ next }] = await query<{ next: number }>(db().url, 'SELECT max(id) + 1 AS next FROM donors');
    const q = `{ donor(id: "${next}") { id name } }`;
    expect(expectNoErrors(await gql(b.url, q)).donor).toBeNull();
    expect((await gql(b.url, q)).headers.get('x-cache')).toBe('HIT');
    const reg = expectNoErrors(
      await gql(a.url, 'mutation($i: RegisterInput!) { register(input: $i) { donor { id } } }', {
        i: { email: 'future@example.org', password: 'long enough', name: 'Future Donor', bloodGroup: 'A_POS', region: 'North', city: 'Northgate' },
      }),
    );
    expect(reg.register.donor.id).toBe(String(next));
    expect(expectNoErrors(await gql(b.url, q)).donor).toEqual({ id: String(next), name: 'Future Donor' });
  });

  test('region: "" names the same lists as no region, and is invalidated with them', async () => {
    const q = '{ bloodRequests(status: OPEN, region: "", first: 100) { totalCount } }';
    const before = expectNoErrors(await gql(b.url, q)).bloodRequests.totalCount;
    expect((await gql(b.url, q)).headers.get('x-cache')).toBe('HIT');
    expectNoErrors(
      await gql(a.url, 'mutation { createBloodRequest(input: { hospitalId: "1", bloodGroup: O_POS, unitsNeeded: 1, urgency: ROUTINE }) { id } }', undefined, { token: tokens.staff }),
    );
    expect(expectNoErrors(await gql(b.url, q)).bloodRequests.totalCount).toBe(before + 1);
  });

  test('purgeCache(type) reaches cached lists, not only entities', async () => {
    const q = '{ hospitals { id name } }';
    await gql(b.url, q);
    await query(db().url, `UPDATE hospitals SET name = 'Renamed Out Of Band' WHERE id = 1`);
    expectNoErrors(await gql(a.url, 'mutation { purgeCache(type: "Hospital") }', undefined, { token: tokens.admin }));
    const names = expectNoErrors(await gql(b.url, q)).hospitals.map((h: { name: string }) => h.name);
    expect(names).toContain('Renamed Out Of Band');
  });

  test('identical concurrent mutations are not coalesced', async () => {
    const m = 'mutation { adjustInventory(hospitalId: "2", bloodGroup: B_POS, delta: 1) { units } }';
    const results = await Promise.all(Array.from({ length: 5 }, () => gql(a.url, m, undefined, { token: tokens.staff })));
    const units = results.map((r) => expectNoErrors(r).adjustInventory.units).sort((x: number, y: number) => x - y);
    expect(new Set(units).size).toBe(5);
  });
});
