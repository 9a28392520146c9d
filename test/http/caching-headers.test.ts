// What /graphql's caching headers tell a client, a browser and a CDN: Cache-Status (RFC 9211)
// says hit or miss, whether the answer was stored and, when not, why; stored GET answers carry
// a strong ETag and answer If-None-Match with 304; Vary names what the key depends on besides
// the URL; errors answered before GraphQL runs are never stored (no-store).
import { startInstance, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;
let staff: string;

beforeAll(async () => {
  const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_MODE: 'full', MAX_BODY_BYTES: '4096' };
  a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
  b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
  staff = (await login(a.url, 'staff')).accessToken;
});

/** Cache-Status as a list of its parameters, e.g. ['Lifeline', 'hit', 'ttl=3599']. */
const statusOf = (headers: Headers) => (headers.get('cache-status') ?? '').split(';').map((p) => p.trim());
const getUrl = (instance: Instance, query: string) => `${instance.graphqlUrl}?${new URLSearchParams({ query })}`;
const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers: { 'apollo-require-preflight': 'true', ...headers } });

describe('Cache-Status', () => {
  test('a miss that was stored, then a hit on another instance, with the remaining life', async () => {
    const q = '{ hospitals { id name } }';
    const miss = await gql(a.url, q);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(statusOf(miss.headers)).toEqual(['Lifeline', 'fwd=uri-miss', 'stored', 'ttl=3600']);
    const hit = await gql(b.url, q);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    const [name, kind, ttl] = statusOf(hit.headers);
    expect([name, kind]).toEqual(['Lifeline', 'hit']);
    expect(Number(ttl!.replace('ttl=', ''))).toBeGreaterThan(3590);
  });

  test('not stored, and why: PRIVATE without a session, uncacheable, a mutation, an error', async () => {
    const anonymousPrivate = await gql(a.url, '{ donor(id: "3") { name email } }');
    expectNoErrors(anonymousPrivate);
    expect(statusOf(anonymousPrivate.headers)).toEqual(['Lifeline', 'fwd=uri-miss', 'detail=private-no-session']);
    expect(anonymousPrivate.headers.get('cache-control')).toBe('no-store');
    // Signed in, the same query is stored under the user's key.
    const signedIn = await gql(a.url, '{ donor(id: "3") { name email } }', undefined, { token: staff });
    // (ttl 599 when donor 3's entry, cached by the request above, bounds it: see http-caching.md.)
    expect(statusOf(signedIn.headers).join('; ')).toMatch(/^Lifeline; fwd=uri-miss; stored; ttl=(599|600)$/);

    // Nothing in it carries a tag, so no invalidation could ever reach a stored copy.
    const uncacheable = await gql(a.url, '{ __schema { queryType { name } } }');
    expectNoErrors(uncacheable);
    expect(statusOf(uncacheable.headers)).toEqual(['Lifeline', 'fwd=uri-miss', 'detail=uncacheable']);
    expect(uncacheable.headers.get('cache-control')).toBe('no-store');

    const mutation = await gql(a.url, 'mutation { logout }', undefined, { token: (await login(a.url, 'donor')).accessToken });
    expectNoErrors(mutation);
    expect(statusOf(mutation.headers)).toEqual(['Lifeline', 'fwd=method', 'detail=not-a-query']);

    const invalid = await gql(a.url, '{ hospitals { nope } }');
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(statusOf(invalid.headers)).toEqual(['Lifeline', 'fwd=bypass', 'detail=error']);
    expect(invalid.headers.get('cache-control')).toBe('no-store');
  });
});

describe('ETag and 304', () => {
  test('a stored GET answer has a strong ETag; If-None-Match gets 304 on the miss and on hits, on any instance', async () => {
    const url = getUrl(a, '{ campaigns(activeOnly: false) { id title } }');
    const first = await get(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{16,}"$/);
    const body = await first.text();

    const sameUrlOnB = url.replace(a.graphqlUrl, b.graphqlUrl);
    for (const target of [url, sameUrlOnB]) {
      const revalidated = await get(target, { 'if-none-match': etag! });
      expect(revalidated.status).toBe(304);
      expect(await revalidated.text()).toBe('');
      expect(revalidated.headers.get('etag')).toBe(etag);
      expect(revalidated.headers.get('cache-control')).toMatch(/^max-age=\d+, public$/);
      expect(revalidated.headers.get('x-cache')).toBe('HIT');
    }
    // Another validator (or a weak form of this one, which matches per RFC 9110) decides alike.
    const other = await get(url, { 'if-none-match': '"something-else"' });
    expect(other.status).toBe(200);
    expect(await other.text()).toBe(body);
    expect((await get(url, { 'if-none-match': `"x", W/${etag}` })).status).toBe(304);
  });

  test('a changed answer gets a new ETag; POST and uncached answers carry none', async () => {
    const q = '{ availability(bloodGroup: B_NEG) { units hospital { id } } }';
    const before = await get(getUrl(a, q));
    const etag = before.headers.get('etag')!;
    expect(etag).toBeTruthy();
    expectNoErrors(await gql(b.url, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: B_NEG, delta: 2) { units } }', undefined, { token: staff }));
    const after = await get(getUrl(a, q), { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(etag);
    // The answer a browser must not keep has no validator to revalidate with.
    expect((await gql(a.url, q)).headers.get('etag')).toBeNull();
    expect((await get(getUrl(a, '{ __schema { queryType { name } } }'))).headers.get('etag')).toBeNull();
  });

  test('the two response formats are two representations with two ETags', async () => {
    const url = getUrl(a, '{ hospitals(region: "North") { id } }');
    const json = await get(url, { accept: 'application/json' });
    const graphqlJson = await get(url, { accept: 'application/graphql-response+json' });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(graphqlJson.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    expect(json.headers.get('etag')).not.toBe(graphqlJson.headers.get('etag'));
    expect((await get(url, { accept: 'application/graphql-response+json', 'if-none-match': json.headers.get('etag')! })).status).toBe(200);
  });
});

test('Vary: Accept on every answer; Authorization too on PRIVATE ones', async () => {
  const pub = await gql(a.url, '{ hospitals { id } }');
  expect(pub.headers.get('vary')).toBe('Accept');
  const priv = await gql(a.url, '{ donor(id: "4") { email } }', undefined, { token: staff });
  expect(priv.headers.get('cache-control')).toMatch(/private/);
  expect(priv.headers.get('vary')).toBe('Accept, Authorization');
  const privHit = await gql(b.url, '{ donor(id: "4") { email } }', undefined, { token: staff });
  expect(privHit.headers.get('x-cache')).toBe('HIT');
  expect(privHit.headers.get('vary')).toBe('Accept, Authorization');
});

describe('errors answered before GraphQL runs are no-store', () => {
  const post = (body: string, contentType = 'application/json') =>
    fetch(a.graphqlUrl, { method: 'POST', headers: { 'content-type': contentType }, body });

  test.each([
    ['a body over MAX_BODY_BYTES (413)', () => post(JSON.stringify({ query: `{ hospitals { id } } #${'x'.repeat(5000)}` })), 413],
    ['malformed JSON (400)', () => post('{"query": '), 400],
    ['JSON nested too deep (400)', () => post(`{"query":"{ hospitals { id } }","variables":{"a":${'['.repeat(100)}${']'.repeat(100)}}}`), 400],
    ['GET variables nested too deep (400)', () => get(`${a.graphqlUrl}?query=${encodeURIComponent('{ hospitals { id } }')}&variables=${encodeURIComponent(`{"a":${'['.repeat(100)}${']'.repeat(100)}}`)}`), 400],
  ])('%s', async (_name, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('cache-status')).toBe('Lifeline; fwd=bypass; detail=error');
    expect(res.headers.get('x-cache')).toBe('BYPASS');
  });
});

test('CACHE_MODE=entity: no response cache to ask; the hints\' Cache-Control goes out and Cache-Status says so', async () => {
  const entity = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: uniqueCachePrefix(), CACHE_MODE: 'entity' } });
  const res = await gql(entity.url, '{ campaigns(activeOnly: false) { id } }');
  expectNoErrors(res);
  expect(res.headers.get('x-cache')).toBe('BYPASS');
  expect(res.headers.get('cache-control')).toBe('max-age=300, public');
  expect(res.headers.get('cache-status')).toBe('Lifeline; fwd=bypass; detail=off');
  expect(res.headers.get('etag')).toBeNull();
  await entity.stop();
});

test('the format follows Accept weights, and so does the cache key: reversed preferences never share an entry', async () => {
  const query = '{ hospital(id: "3") { id name } }';
  const prefersGraphQL = 'application/json;q=0.1, application/graphql-response+json';
  const prefersJson = 'application/graphql-response+json;q=0.1, application/json';
  const first = await get(getUrl(a, query), { accept: prefersGraphQL });
  expect(first.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
  const firstEtag = first.headers.get('etag');
  // The same types in the other order: the other format, computed or cached under its own key.
  const second = await get(getUrl(b, query), { accept: prefersJson });
  expect(second.headers.get('content-type')).toMatch(/^application\/json/);
  // A validator of the first format does not answer for the second.
  const revalidated = await get(getUrl(b, query), { accept: prefersJson, 'if-none-match': firstEtag ?? '"none"' });
  expect(revalidated.status).toBe(200);
  expect(revalidated.headers.get('content-type')).toMatch(/^application\/json/);
});

test('a GET naming a parameter twice is refused on a hit as on a miss', async () => {
  const query = '{ hospital(id: "5") { id name } }';
  const warm = await get(getUrl(a, query));
  expect(warm.status).toBe(200);
  expect((await get(getUrl(a, query))).headers.get('x-cache')).toBe('HIT');
  const twice = `${a.graphqlUrl}?${new URLSearchParams([['query', query], ['query', '{ hospital(id: "6") { id name } }']])}`;
  const res = await get(twice);
  expect(res.status).toBe(400);
  expect(res.headers.get('x-cache')).not.toBe('HIT');
});
