// The full-response and entity caches as a user sees them: x-cache, Cache-Control,
// SQL statements per request, privacy, stampedes, purge and epoch, over real Redis.
import { createHash } from 'node:crypto';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scanKeys, testRedisClient, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase({ donors: 120, hospitals: 10, donations: 900, campaigns: 6, requests: 20, seed: 11 });
const redis = testRedisClient();
afterAll(() => redis.quit());
let tokens: Awaited<ReturnType<typeof demoTokens>>;

async function pair(mode = 'full'): Promise<[Instance, Instance, string]> {
  const prefix = uniqueCachePrefix();
  // What a write or a purge drops is watched as the next read's MISS: no refresh recomputes it first.
  const env = { CACHE_PREFIX: prefix, CACHE_MODE: mode, CACHE_REFRESH: '0' };
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
  const b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
  tokens ??= await demoTokens(a.url);
  return [a, b, prefix];
}

async function sqlDuring<T>(instances: Instance[], fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  let statements = 0;
  const offs = instances.map((i) => i.app.database.onStatement(() => statements++));
  try {
    return { result: await fn(), statements };
  } finally {
    offs.forEach((off) => off());
  }
}

async function keysWith(prefix: string, pattern: string): Promise<string[]> {
  return scanKeys(redis, `${prefix}${pattern}`);
}

const NESTED = '{ donors(first: 50) { nodes { id name donations(first: 5) { nodes { id hospital { name } } } } } }';

test('MISS then HIT on another instance; a hit costs no SQL and carries Cache-Control', async () => {
  const [a, b] = await pair();
  const miss = await gql(a.url, NESTED);
  expect(miss.headers.get('x-cache')).toBe('MISS');
  const { result: hit, statements } = await sqlDuring([a, b], () => gql(b.url, NESTED));
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect(statements).toBe(0);
  expect(hit.text).toBe(miss.text);
  expect(hit.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
  expect(Number(hit.headers.get('cache-control')!.match(/max-age=(\d+)/)![1])).toBeLessThanOrEqual(600);
  const mutation = await gql(a.url, 'mutation { login(email: "x@y.z", password: "wrong-pass") { accessToken } }');
  expect(mutation.headers.get('x-cache')).toBe('BYPASS');
});

test('entity cache only: the warm nested query costs 0 SQL statements (cold: 3)', async () => {
  const [a, b] = await pair('entity');
  const cold = await sqlDuring([a], () => gql(a.url, NESTED));
  expect(cold.statements).toBe(3);
  expect(cold.result.headers.get('x-cache')).toBe('BYPASS');
  const warm = await sqlDuring([a, b], () => gql(b.url, NESTED));
  expect(warm.statements).toBe(0);
  expect(warm.result.text).toBe(cold.result.text);
});

test('GET and automatic persisted queries hit the same cache', async () => {
  const [a] = await pair();
  const query = '{ hospitals { id name } }';
  const hash = createHash('sha256').update(query).digest('hex');
  const ext = { persistedQuery: { version: 1, sha256Hash: hash } };
  const post = await fetch(`${a.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, extensions: ext }) });
  expect(post.headers.get('x-cache')).toBe('MISS');
  const params = new URLSearchParams({ extensions: JSON.stringify(ext) });
  const get = await fetch(`${a.url}/graphql?${params}`, { headers: { 'apollo-require-preflight': 'true' } });
  expect(get.headers.get('x-cache')).toBe('HIT');
  expect(((await get.json()) as { data: { hospitals: unknown[] } }).data.hospitals.length).toBeGreaterThan(0);
  // Without a preflight header a simple GET is refused, cached or not (CSRF prevention).
  const simple = await fetch(`${a.url}/graphql?${new URLSearchParams({ query })}`);
  expect(simple.status).toBe(400);
});

test('PRIVATE responses are per user, under keys naming the user, never in a shared entry', async () => {
  const [a, b, prefix] = await pair();
  const q = '{ donor(id: "1") { id name email phone } }';
  const staff1 = await gql(a.url, q, undefined, { token: tokens.staff });
  expect(staff1.headers.get('cache-control')).toMatch(/private/);
  expect((await gql(b.url, q, undefined, { token: tokens.staff })).headers.get('x-cache')).toBe('HIT');
  // Another user (the donor themself) and an anonymous caller never get the staff entry.
  const self = await gql(b.url, q, undefined, { token: tokens.donor });
  expect(self.headers.get('x-cache')).not.toBe('HIT');
  const anon = await gql(b.url, q);
  expect(anon.headers.get('x-cache')).not.toBe('HIT');
  expect(anon.body.data.donor.email).toBeNull();
  const publicKeys = await keysWith(prefix, '*resp:public:*');
  for (const key of publicKeys) expect(await redis.get(key)).not.toContain(staff1.body.data.donor.email);
  const privateKeys = await keysWith(prefix, '*resp:user:*');
  expect(privateKeys.length).toBeGreaterThanOrEqual(1);
  expect(privateKeys.every((k) => /resp:user:\d+:/.test(k))).toBe(true);
});

test('errors are never cached', async () => {
  const [a] = await pair();
  const q = '{ donor(id: "not-a-number") { id } }';
  expect((await gql(a.url, q)).headers.get('x-cache')).toBe('BYPASS');
  expect((await gql(a.url, q)).headers.get('x-cache')).toBe('BYPASS');
});

test('stampede: 100 concurrent misses on one key over two instances cause one computation', async () => {
  const [a, b] = await pair();
  const q = '{ donors(first: 40, region: "North") { totalCount nodes { id donations(first: 3) { nodes { id } } } } }';
  // What one computation costs, measured on a separate cache prefix.
  const [c] = await pair();
  const single = await sqlDuring([c], () => gql(c.url, q));
  const { result, statements } = await sqlDuring([a, b], () => Promise.all(Array.from({ length: 100 }, (_, i) => gql(i % 2 ? a.url : b.url, q))));
  const texts = new Set(result.map((r) => r.text));
  expect(texts.size).toBe(1);
  expect(statements).toBe(single.statements);
  // A request that waited for another's computation answers MISS with `collapsed`: not a computation of its own.
  const collapsed = (r: (typeof result)[number]) => /;\s*collapsed\b/.test(r.headers.get('cache-status') ?? '');
  const misses = result.filter((r) => r.headers.get('x-cache') === 'MISS' && !collapsed(r)).length;
  expect(result.every((r) => r.headers.get('x-cache') === 'HIT' || r.headers.get('x-cache') === 'MISS')).toBe(true);
  // One computation reached PostgreSQL (the statements above). On a loaded machine a straggler or
  // two may still run the operation again after the holder finished, answered from the entity
  // cache at no SQL cost (a cache read that timed out leaves its request without a fence to share
  // under); without coalescing nearly all 100 would be misses.
  expect(misses).toBeGreaterThanOrEqual(1);
  expect(misses).toBeLessThanOrEqual(5);
});

test('purgeCache drops one entity or a whole type; "*" moves the epoch', async () => {
  const [a, b] = await pair();
  const q = '{ hospital(id: "2") { id name } }';
  const other = '{ hospital(id: "3") { id name } }';
  for (const x of [q, other]) {
    await gql(a.url, x);
    expect((await gql(b.url, x)).headers.get('x-cache')).toBe('HIT');
  }
  const purged = expectNoErrors(await gql(a.url, 'mutation { purgeCache(type: "Hospital", id: "2") }', undefined, { token: tokens.admin }));
  expect(purged.purgeCache).toBeGreaterThanOrEqual(2); // the entity and the response holding it
  expect((await gql(b.url, q)).headers.get('x-cache')).toBe('MISS');
  expect((await gql(b.url, other)).headers.get('x-cache')).toBe('HIT');

  expectNoErrors(await gql(a.url, 'mutation { purgeCache(type: "Hospital") }', undefined, { token: tokens.admin }));
  expect((await gql(b.url, other)).headers.get('x-cache')).toBe('MISS');

  expect((await gql(b.url, other)).headers.get('x-cache')).toBe('HIT');
  expectNoErrors(await gql(a.url, 'mutation { purgeCache(type: "*") }', undefined, { token: tokens.admin }));
  expect((await gql(b.url, other)).headers.get('x-cache')).toBe('MISS');
});
