// Stale-while-revalidate and stale-if-error, never after an invalidation. The cache's
// clock is moved instead of sleeping; Redis keeps real time (entries live maxAge + grace).
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
let offset = 0;
const clock = () => Date.now() + offset;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  // A removed entry must not come back as stale; with refresh a new one would take its place first.
  const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_REFRESH: '0' };
  a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions: { cacheClock: clock } });
  b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions: { cacheClock: clock } });
});
beforeEach(() => {
  offset = 0;
});

// dashboardStats: maxAge 5 s, so a stale entry may be served for 5 s more.
const DASH = '{ dashboardStats { totalDonors openRequests } }';

test('past maxAge, within grace: stale copies are served while exactly one caller refreshes', async () => {
  const q = '{ dashboardStats { totalDonors totalUnitsCollected } }';
  expect((await gql(a.url, q)).headers.get('x-cache')).toBe('MISS');
  offset = 6_000;
  let statements = 0;
  const offs = [a, b].map((i) => i.app.database.onStatement(() => statements++));
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gql(i % 2 ? a.url : b.url, q)));
  offs.forEach((off) => off());
  const caches = results.map((r) => r.headers.get('x-cache'));
  expect(caches.filter((c) => c === 'MISS')).toHaveLength(1);
  expect(caches.filter((c) => c === 'HIT')).toHaveLength(19);
  // The stale copies say so: max-age=0.
  expect(results.filter((r) => r.headers.get('cache-control') === 'max-age=0, public').length).toBeGreaterThan(0);
  // And Cache-Status: stale hits, and the one refresh that replaced the stale entry.
  const statuses = results.map((r) => r.headers.get('cache-status') ?? '');
  expect(statuses.filter((c) => /^Lifeline; hit; ttl=-\d+; detail=stale-while-revalidate$/.test(c)).length).toBeGreaterThan(0);
  expect(statuses.filter((c) => /^Lifeline; fwd=stale; stored; ttl=\d+$/.test(c))).toHaveLength(1);
  expect(statements).toBe(1);
  // After the refresh, fresh again.
  expect((await gql(b.url, q)).headers.get('cache-control')).toMatch(/^max-age=[1-5], public$/);
});

test('stale-if-error: while the database fails, the stale copy is served instead of an error', async () => {
  const q = '{ dashboardStats { totalDonors } }';
  expect((await gql(a.url, q)).headers.get('x-cache')).toBe('MISS');
  // Far enough that the entity-level copy the first test refreshed is stale as well.
  offset = 12_000;
  await query(db().url, 'ALTER TABLE donors RENAME TO donors_away');
  try {
    const res = await gql(b.url, q);
    expect(res.body.errors).toBeUndefined();
    expect(res.headers.get('x-cache')).toBe('HIT');
    expect(res.body.data.dashboardStats.totalDonors).toBe(60);
    expect(res.headers.get('cache-status')).toMatch(/^Lifeline; hit; ttl=-\d+; detail=stale-if-error$/);
  } finally {
    await query(db().url, 'ALTER TABLE donors_away RENAME TO donors');
  }
});

test('an entry removed by a mutation is never served again, not even as stale', async () => {
  const { staff } = await demoTokens(a.url);
  const before = expectNoErrors(await gql(a.url, DASH));
  offset = 6_000;
  expectNoErrors(
    await gql(a.url, 'mutation { createBloodRequest(input: { hospitalId: "1", bloodGroup: A_NEG, unitsNeeded: 1, urgency: ROUTINE }) { id } }', undefined, { token: staff }),
  );
  const after = await gql(b.url, DASH);
  expect(after.headers.get('x-cache')).not.toBe('HIT');
  expect(after.body.data.dashboardStats.openRequests).toBe(before.dashboardStats.openRequests + 1);
});
