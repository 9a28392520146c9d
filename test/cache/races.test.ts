// CACHE-CONSISTENCY.md, case by case: each interleaving is forced deterministically and
// checked for a stale read; then the same test runs with that guard switched off and
// must find the stale read, so each test is known to catch what it claims.
import { createCache } from '../../src/cache/cache.js';
import { createKeyspace } from '../../src/cache/keys.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import { createLogger } from '../../src/observability/logger.js';
import type { AppOptions } from '../../src/app.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisClient, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const logger = createLogger('silent');
const redis = testRedisClient();
afterAll(() => redis.quit());

/** A promise with its resolve exposed, to pause one side of an interleaving. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('case 3, stale write-back: a reader that loaded the old row before an invalidation cannot store it after', () => {
  async function interleave(skipFence: boolean) {
    const store = createRedisStore(redis, createKeyspace(uniqueCachePrefix()), { unsafeSkipFence: skipFence });
    const cache = createCache({ store, logger, l1MaxBytes: 0 });
    let row = { id: 1, name: 'old' };
    const readerLoaded = deferred();
    const writerDone = deferred();

    // The reader misses, reads the old row from "the database", then stalls before its write-back...
    const reader = cache.readThrough(
      cache.newScope(),
      ['Donor:1'],
      async () => {
        const snapshot = { ...row };
        readerLoaded.resolve();
        await writerDone.promise;
        return new Map([['Donor:1', snapshot]]);
      },
      () => ({ tags: ['Donor:1'], ttlMs: 60_000 }),
    );
    // ...while the writer commits and invalidates.
    await readerLoaded.promise;
    row = { id: 1, name: 'new' };
    await cache.invalidate(['Donor:1']);
    writerDone.resolve();
    expect((await reader).get('Donor:1')).toEqual({ id: 1, name: 'old' });
    // Let the background write-back land, then read what a later request would get.
    await new Promise((r) => setTimeout(r, 50));
    const later = await cache.get<{ name: string }>(cache.newScope(), ['Donor:1']);
    cache.close();
    return later.get('Donor:1')?.value.name ?? null;
  }

  test('with the fence: the old row is not stored', async () => {
    expect(await interleave(false)).toBeNull();
  });
  test('guard off (no fence): the old row is stored and would be served until its TTL', async () => {
    expect(await interleave(true)).toBe('old');
  });
});

describe('over two instances sharing Redis', () => {
  const db = useSeededDatabase();
  let tokens: Awaited<ReturnType<typeof demoTokens>>;

  async function pair(appOptions?: AppOptions): Promise<[Instance, Instance]> {
    // These tests watch invalidation itself (what a write drops): no refresh recomputes it before the next read.
    const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_REFRESH: '0' };
    const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions });
    const b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions });
    tokens ??= await demoTokens(a.url);
    return [a, b];
  }

  const DONOR = '{ donor(id: "5") { id city } }';
  const renameCity = (url: string, city: string) =>
    gql(url, 'mutation($c: String!) { updateDonor(id: "5", input: { city: $c }) { city } }', { c: city }, { token: tokens.staff });

  /** Case 2 (ack before invalidate) and the response cache: a read on B right after A's ack. */
  async function readAfterAck(appOptions?: AppOptions) {
    const [a, b] = await pair(appOptions);
    expect(expectNoErrors(await gql(b.url, DONOR)).donor.city).toEqual(expect.any(String));
    const warm = await gql(b.url, DONOR);
    expect(warm.headers.get('x-cache')).toBe('HIT');
    const city = `City-${Date.now()}`;
    expectNoErrors(await renameCity(a.url, city));
    const after = await gql(b.url, DONOR);
    await Promise.all([a.stop(), b.stop()]);
    return after.body.data.donor.city === city;
  }

  test('case 2: once the mutation answered, the other instance never serves the old response', async () => {
    expect(await readAfterAck()).toBe(true);
  });
  test('guard off (no invalidation): the other instance serves the old response', async () => {
    expect(await readAfterAck({ unsafe: { skipInvalidation: true } })).toBe(false);
  });

  /** Case 5: B holds an L1 copy; A invalidates; B's next read must not trust it. */
  async function l1AfterAck(appOptions?: AppOptions) {
    const [a, b] = await pair(appOptions);
    // B's second read is served from its L1 copy of the response; A's mutation deletes the L2 entry
    // that copy came from, and only the stamp check tells B.
    const q = '{ donor(id: "6") { id city } }';
    await gql(b.url, q);
    await gql(b.url, q); // now in B's L1 (the response entry too)
    const city = `L1-${Date.now()}`;
    expectNoErrors(await gql(a.url, 'mutation($c: String!) { updateDonor(id: "6", input: { city: $c }) { city } }', { c: city }, { token: tokens.staff }));
    const after = await gql(b.url, q);
    await Promise.all([a.stop(), b.stop()]);
    return after.body.data.donor.city === city;
  }

  test('case 5: an L1 copy on another instance is served only with proof it is current', async () => {
    expect(await l1AfterAck()).toBe(true);
  });
  test('guard off (L1 trusted without the stamp check): the stale copy is served', async () => {
    expect(await l1AfterAck({ unsafe: { skipL1Validation: true } })).toBe(false);
  });

  test('case 4: lists and aggregates that contain the change are dropped, on every instance', async () => {
    const [a, b] = await pair();
    const OPEN = '{ bloodRequests(status: OPEN, first: 100) { totalCount nodes { id } } dashboardStats { openRequests pendingEmergencyRequests } }';
    const before = expectNoErrors(await gql(b.url, OPEN));
    expect((await gql(b.url, OPEN)).headers.get('x-cache')).toBe('HIT');
    const created = expectNoErrors(
      await gql(a.url, 'mutation { createBloodRequest(input: { hospitalId: "2", bloodGroup: O_NEG, unitsNeeded: 4, urgency: EMERGENCY }) { id } }', undefined, { token: tokens.staff }),
    ).createBloodRequest;
    const after = await gql(b.url, OPEN);
    expect(after.headers.get('x-cache')).not.toBe('HIT');
    const data = expectNoErrors(after);
    expect(data.bloodRequests.nodes.map((n: { id: string }) => n.id)).toContain(created.id);
    expect(data.bloodRequests.totalCount).toBe(before.bloodRequests.totalCount + 1);
    expect(data.dashboardStats.pendingEmergencyRequests).toBe(before.dashboardStats.pendingEmergencyRequests + 1);

    // availability moves with stock
    const AV = '{ availability(bloodGroup: AB_POS) { units hospital { id } } }';
    await gql(b.url, AV);
    const stockBefore = (await query<{ units: number }>(db().url, `SELECT units FROM inventory WHERE hospital_id = 1 AND blood_group = 'AB_POS'`))[0]!.units;
    expectNoErrors(await gql(a.url, 'mutation { adjustInventory(hospitalId: "1", bloodGroup: AB_POS, delta: 5) { units } }', undefined, { token: tokens.staff }));
    const av = expectNoErrors(await gql(b.url, AV));
    expect(av.availability.find((i: { hospital: { id: string } }) => i.hospital.id === '1').units).toBe(stockBefore + 5);
    await Promise.all([a.stop(), b.stop()]);
  });

  test('precise list invalidation: a new request in one region drops that region and unfiltered lists, not another region', async () => {
    const [a, b] = await pair();
    const [{ region }] = await query<{ region: string }>(db().url, 'SELECT region FROM hospitals WHERE id = 3');
    const [{ region: other }] = await query<{ region: string }>(db().url, 'SELECT region FROM hospitals WHERE region <> $1 LIMIT 1', [region]);
    const list = (r: string | null) => `{ bloodRequests(status: OPEN${r ? `, region: "${r}"` : ''}, first: 50) { nodes { id } } }`;
    for (const q of [list(region), list(other), list(null)]) {
      await gql(b.url, q);
      expect((await gql(b.url, q)).headers.get('x-cache')).toBe('HIT');
    }
    expectNoErrors(
      await gql(a.url, 'mutation { createBloodRequest(input: { hospitalId: "3", bloodGroup: B_POS, unitsNeeded: 2, urgency: URGENT }) { id } }', undefined, { token: tokens.staff }),
    );
    expect((await gql(b.url, list(region))).headers.get('x-cache')).toBe('MISS');
    expect((await gql(b.url, list(null))).headers.get('x-cache')).toBe('MISS');
    expect((await gql(b.url, list(other))).headers.get('x-cache')).toBe('HIT');
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('L1 hygiene', () => {
  const db = useSeededDatabase();
  test('an invalidation on one instance drops the L1 copies on the others (Pub/Sub)', async () => {
    const env = { CACHE_PREFIX: uniqueCachePrefix() };
    const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
    const b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
    const { staff } = await demoTokens(a.url);
    // Two reads through B's entity cache (entity mode would do too): the second fills L1 from L2.
    await gql(b.url, '{ donor(id: "9") { id name } }');
    await gql(b.url, '{ donor(id: "9") { id city } }');
    await gql(b.url, '{ donor(id: "9") { id points } }');
    const cacheB = b.app.services.cache!;
    const before = cacheB.stats.l1Dropped;
    expectNoErrors(await gql(a.url, 'mutation { updateDonor(id: "9", input: { city: "Dropped" }) { city } }', undefined, { token: staff }));
    const deadline = Date.now() + 5_000;
    while (cacheB.stats.l1Dropped === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(cacheB.stats.l1Dropped).toBeGreaterThan(before);
    expect(expectNoErrors(await gql(b.url, '{ donor(id: "9") { city } }')).donor.city).toBe('Dropped');
  });
});
