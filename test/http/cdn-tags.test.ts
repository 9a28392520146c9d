// CDN purge tags: cacheable PUBLIC responses name their entity and list tags in
// Cache-Tag and Surrogate-Key, on the MISS and on every HIT, bounded in size; the tags a
// mutation invalidates (published on the invalidation channel) name the responses it changed.
import { cdnTagHeader, MAX_CDN_TAG_BYTES } from '../../src/cache/cdn-tags.js';
import { hospitalCache } from '../../src/modules/hospital/cache.js';
import { availabilityList, inventoryItemCache } from '../../src/modules/inventory/cache.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisClient, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase({ donors: 300, hospitals: 12, donations: 1500, campaigns: 4, requests: 10, seed: 7 });
let a: Instance;
let b: Instance;
let prefix: string;

beforeAll(async () => {
  prefix = uniqueCachePrefix();
  // The next read after a write is watched as a MISS: no refresh recomputes it first.
  const env = { CACHE_PREFIX: prefix, CACHE_MODE: 'full', CDN_TAGS: 'cache-tag', CACHE_REFRESH: '0' };
  a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
  b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
});

const AVAILABILITY = '{ availability(bloodGroup: O_NEG) { units hospital { id name } } }';
const tagsOf = (header: string | null) => (header ?? '').split(',').filter(Boolean);

test('a PUBLIC response carries its tags on the MISS and on a HIT from another instance', async () => {
  const miss = await gql(a.url, AVAILABILITY);
  expectNoErrors(miss);
  expect(miss.headers.get('x-cache')).toBe('MISS');
  const tags = tagsOf(miss.headers.get('cache-tag'));
  // The list it read and every entity in it, as the declarations spell them.
  expect(tags).toContain(availabilityList.tag({ bloodGroup: 'O_NEG' }));
  for (const row of (miss.body.data as { availability: { hospital: { id: string } }[] }).availability) {
    expect(tags).toContain(hospitalCache.key(Number(row.hospital.id)));
    expect(tags).toContain(inventoryItemCache.key([Number(row.hospital.id), 'O_NEG']));
  }
  // Only the header the configured CDN reads.
  expect(miss.headers.get('surrogate-key')).toBeNull();
  expect(miss.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);

  const hit = await gql(b.url, AVAILABILITY);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect(hit.headers.get('cache-tag')).toBe(miss.headers.get('cache-tag'));
  expect(hit.headers.get('surrogate-key')).toBeNull();

  // A Fastly deployment on the same cache: the same tags, space-separated, in Surrogate-Key only.
  const fastly = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: prefix, CACHE_MODE: 'full', CDN_TAGS: 'surrogate-key', CACHE_REFRESH: '0' } });
  const viaFastly = await gql(fastly.url, AVAILABILITY);
  expect(viaFastly.headers.get('x-cache')).toBe('HIT');
  expect(viaFastly.headers.get('surrogate-key')).toBe(tags.join(' '));
  expect(viaFastly.headers.get('cache-tag')).toBeNull();
});

test('the tags a mutation invalidates, as published to a purger, name the cached response', async () => {
  const first = await gql(a.url, AVAILABILITY);
  const responseTags = new Set(tagsOf(first.headers.get('cache-tag')));
  const hospitalId = (first.body.data as { availability: { hospital: { id: string } }[] }).availability[0]!.hospital.id;

  const subscriber = testRedisClient();
  const published: string[] = [];
  try {
    subscriber.on('message', (_channel: string, message: string) => published.push(...message.split('\n')));
    await subscriber.subscribe(`${prefix}cache:invalidated`);
    const { staff } = await demoTokens(a.url);
    const res = await gql(a.url, `mutation { adjustInventory(hospitalId: "${hospitalId}", bloodGroup: O_NEG, delta: 1) { units } }`, undefined, { token: staff });
    expectNoErrors(res);
    for (let i = 0; i < 100 && !published.length; i++) await new Promise((r) => setTimeout(r, 20));
  } finally {
    await subscriber.quit();
  }
  expect(published.some((t) => responseTags.has(t))).toBe(true);
  // ... and the next read is fresh, with the same tags.
  const after = await gql(b.url, AVAILABILITY);
  expect(after.headers.get('x-cache')).toBe('MISS');
  expect(after.headers.get('cache-tag')).toBe(first.headers.get('cache-tag'));
});

test('a response with more tags than fit carries none and is kept from shared caches', async () => {
  const big = '{ donors(first: 100) { nodes { id name donations(first: 5) { nodes { id hospital { name } } } } } }';
  const miss = await gql(a.url, big);
  expectNoErrors(miss);
  expect(miss.headers.get('x-cache')).toBe('MISS');
  expect(miss.headers.get('cache-tag')).toBeNull();
  expect(miss.headers.get('surrogate-key')).toBeNull();
  expect(miss.headers.get('cache-control')).toMatch(/^max-age=\d+, public, s-maxage=0$/);
  const hit = await gql(b.url, big);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect(hit.headers.get('cache-tag')).toBeNull();
  expect(hit.headers.get('cache-control')).toMatch(/, s-maxage=0$/);
});

test('a PRIVATE response names no tags', async () => {
  const { donor } = await demoTokens(a.url);
  const res = await gql(a.url, '{ me { email } }', undefined, { token: donor });
  expectNoErrors(res);
  expect(res.headers.get('cache-control')).toMatch(/private/);
  expect(res.headers.get('cache-tag')).toBeNull();
});

test('cdnTagHeader: sorted, deduplicated; null past the bound or when any tag cannot be carried', () => {
  expect(cdnTagHeader(['b:1', 'a:2', 'b:1'])).toBe('a:2,b:1');
  // Dropping the one tag a purge would name (a free-text region, say) would strand the copy.
  expect(cdnTagHeader(['ok', 'Donor:list:bloodGroup=*:region=North West'])).toBeNull();
  expect(cdnTagHeader(['ok', 'has,comma'])).toBeNull();
  expect(cdnTagHeader(['ok', 'region=São Paulo'])).toBeNull();
  expect(cdnTagHeader([])).toBeNull();
  const many = Array.from({ length: 2_000 }, (_, i) => `Donor:${i}`);
  expect(cdnTagHeader(many)).toBeNull();
  expect(cdnTagHeader(many.slice(0, 10))!.length).toBeLessThanOrEqual(MAX_CDN_TAG_BYTES);
});

test('by default (CDN_TAGS=off) no tag header is sent and Cache-Control is left alone', async () => {
  const off = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: uniqueCachePrefix() } });
  const res = await gql(off.url, '{ donors(first: 100) { nodes { id name donations(first: 5) { nodes { id hospital { name } } } } } }');
  expectNoErrors(res);
  expect(res.headers.get('cache-tag')).toBeNull();
  expect(res.headers.get('surrogate-key')).toBeNull();
  expect(res.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
});
