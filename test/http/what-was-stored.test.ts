// HTTP says what the cache stored: when a mutation commits between a read's database read and
// its write-back, the cache refuses the write-back (the read may predate the mutation), and the
// response must not tell browsers and CDNs to keep it either: no `public` max-age, no purge tags
// (the purge for that mutation was published before this response left).
import { startInstance, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { startPrivateRedis, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();

function deferred<T = void>() {
  let resolve!: (v?: T) => void;
  const promise = new Promise<T>((r) => (resolve = r as (v?: T) => void));
  return { promise, resolve };
}

/** Pauses the next write-back on instance `a` until the test lets it go. */
let pauseNext: { paused: ReturnType<typeof deferred>; resume: ReturnType<typeof deferred> } | null = null;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  // Purge tags on: a response the cache refused must not carry them.
  const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_MODE: 'full', CDN_TAGS: 'cache-tag' };
  a = await startInstance({
    databaseUrl: db().url,
    redisUrl: testRedisUrl(),
    env,
    appOptions: {
      beforeResponseStore: async () => {
        const pause = pauseNext;
        pauseNext = null;
        if (!pause) return;
        pause.paused.resolve();
        await pause.resume.promise;
      },
    },
  });
  b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
});

// One document per method: both tests start with nothing cached.
const availability = (method: string) => `query Read${method} { availability(bloodGroup: O_NEG) { units hospital { id } } }`;
const ADJUST = 'mutation($h: ID!) { adjustInventory(hospitalId: $h, bloodGroup: O_NEG, delta: 3) { units hospital { id } } }';

test.each(['POST', 'GET'] as const)('%s: a response whose write-back a racing mutation refused goes out uncacheable, without purge tags', async (method) => {
  const staff = (await login(b.url, 'staff')).accessToken;
  const AVAILABILITY = availability(method);
  const pause = (pauseNext = { paused: deferred(), resume: deferred() });
  // The read runs its database reads, then waits before writing its response back...
  const read = gql(a.url, AVAILABILITY, undefined, { method });
  await pause.paused.promise;
  // ...while a mutation on another instance commits and invalidates what it read.
  const adjusted = expectNoErrors(await gql(b.url, ADJUST, { h: '1' }, { token: staff })).adjustInventory;
  pause.resume.resolve();
  const raced = await read;
  expectNoErrors(raced);

  const cacheControl = raced.headers.get('cache-control') ?? '';
  expect(cacheControl).not.toMatch(/public/);
  expect(cacheControl).toMatch(/no-store/);
  expect(raced.headers.get('cache-tag')).toBeNull();
  expect(raced.headers.get('surrogate-key')).toBeNull();
  expect(raced.headers.get('etag')).toBeNull();
  expect(raced.headers.get('cache-status')).toBe('Lifeline; fwd=uri-miss; detail=refused');

  // Nothing was stored: the next read is computed again and shows the mutation.
  const next = await gql(a.url, AVAILABILITY, undefined, { method });
  expect(next.headers.get('x-cache')).toBe('MISS');
  const row = expectNoErrors(next).availability.find((r: { hospital: { id: string } }) => r.hospital.id === '1');
  expect(row.units).toBe(adjusted.units);
  // And that one was stored, and says so.
  expect(next.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
  expect((await gql(b.url, AVAILABILITY, undefined, { method })).headers.get('x-cache')).toBe('HIT');
});

test('with the cache store down, answers come from PostgreSQL and say they were not stored', async () => {
  const redis = await startPrivateRedis();
  const solo = await startInstance({ databaseUrl: db().url, redisUrl: redis.url, env: { CACHE_PREFIX: uniqueCachePrefix(), CACHE_MODE: 'full', CACHE_TIMEOUT_MS: '300', CDN_TAGS: 'cache-tag' } });
  const q = '{ hospitals { id name } }';
  expect((await gql(solo.url, q)).headers.get('cache-status')).toMatch(/; stored; /);
  await redis.kill();
  for (const method of ['POST', 'GET'] as const) {
    const res = await gql(solo.url, `query Down${method} { hospitals { id name } }`, undefined, { method });
    expect(expectNoErrors(res).hospitals.length).toBeGreaterThan(0);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('cache-tag')).toBeNull();
    expect(res.headers.get('etag')).toBeNull();
    expect(res.headers.get('cache-status')).toBe('Lifeline; fwd=uri-miss; detail=unavailable');
  }
  // Back up before the instance stops: its Redis clients close cleanly then.
  await redis.restart();
  await solo.stop();
}, 60_000);
