// A response never outlives the cached entries it was built from: its stored life, its HTTP
// max-age and its stale grace end when the earliest of them does. The cache's clock (and the
// app's, which decides which campaigns are running) is moved instead of sleeping.
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scanKeys, testRedisClient, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
// Connected while the file starts (a cluster client learns its nodes asynchronously).
const redis = testRedisClient();
afterAll(() => redis.disconnect());
let offset = 0;
const clock = () => Date.now() + offset;
let a: Instance;
let b: Instance;
let endingId: string;
let prefix: string;
const started = Date.now();

beforeAll(async () => {
  // A campaign that ends 295 s from now: the active list (maxAge 300) may show it until about 300 s.
  const [row] = await query<{ id: number }>(
    db().url,
    `INSERT INTO campaigns (title, region, hospital_id, starts_at, ends_at, goal_units)
     SELECT 'Ending soon', region, id, $1, $2, 10 FROM hospitals ORDER BY id LIMIT 1 RETURNING id`,
    [new Date(started - 86_400_000), new Date(started + 295_000)],
  );
  endingId = String(row!.id);
  prefix = uniqueCachePrefix();
  const env = { CACHE_PREFIX: prefix };
  const appOptions = { cacheClock: clock, now: () => new Date(clock()) };
  a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions });
  b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions });
});

const maxAgeOf = (cacheControl: string | null) => Number(/max-age=(\d+)/.exec(cacheControl ?? '')?.[1] ?? NaN);
const ids = (data: { campaigns: { id: string }[] }) => data.campaigns.map((c) => c.id);

test('a response built from a list entry with 10 s left lives 10 s, not a fresh 300 s', async () => {
  // The active-campaigns list is cached with the campaign in it (300 s).
  const first = await gql(a.url, '{ campaigns(activeOnly: true) { id } }');
  expect(ids(expectNoErrors(first))).toContain(endingId);
  expect(maxAgeOf(first.headers.get('cache-control'))).toBe(300);

  // 290 s later another query is answered from that list entry, which has 10 s left.
  offset = 290_000;
  const Q2 = '{ campaigns(activeOnly: true) { id title } }';
  const second = await gql(b.url, Q2);
  expect(second.headers.get('x-cache')).toBe('MISS');
  expect(ids(expectNoErrors(second))).toContain(endingId);
  const maxAge = maxAgeOf(second.headers.get('cache-control'));
  expect(maxAge).toBeGreaterThanOrEqual(5);
  expect(maxAge).toBeLessThanOrEqual(10);
  // Stored for its fresh life plus any stale grace: together still within those 10 s. (The first
  // response, built from the database, keeps its 300 s and grace.)
  const lives = await Promise.all((await scanKeys(redis, `${prefix}*resp:public:*`)).filter((k) => !k.includes(':lease:')).map((k) => redis.pttl(k)));
  expect(lives).toHaveLength(2);
  expect(lives.filter((ms) => ms > 0 && ms <= 10_000)).toHaveLength(1);
  // A hit of it on either instance says no more either.
  const hit = await gql(a.url, Q2);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect(maxAgeOf(hit.headers.get('cache-control'))).toBeLessThanOrEqual(10);

  // Past the list's life the campaign has ended (at 295 s): no instance still serves it.
  offset = 301_000;
  for (const instance of [a, b]) expect(ids(expectNoErrors(await gql(instance.url, Q2)))).not.toContain(endingId);
});
