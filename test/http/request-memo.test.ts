// The request memo (http/request-memo.ts) answers only for the exact text, method and
// response format it saw, and stays bounded; end to end, a remembered request still
// gets the right entry when only the Accept header or the variables differ.
import { createRequestMemo } from '../../src/http/request-memo.js';
import { startInstance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

test('keyed by method, format and exact text; long texts and old entries are not kept', () => {
  const memo = createRequestMemo<string>({ maxEntries: 2, maxTextLength: 100 });
  memo.set('POST', 'application/json', '{"query":"{a}"}', { operation: 'a', hash: 'h1' });
  expect(memo.get('POST', 'application/json', '{"query":"{a}"}')?.hash).toBe('h1');
  expect(memo.get('GET', 'application/json', '{"query":"{a}"}')).toBeUndefined();
  expect(memo.get('POST', 'application/graphql-response+json', '{"query":"{a}"}')).toBeUndefined();
  expect(memo.get('POST', 'application/json', '{"query":"{a}"} ')).toBeUndefined();
  const long = `{"query":"{${'a'.repeat(200)}}"}`;
  memo.set('POST', 'application/json', long, { operation: 'long', hash: 'h2' });
  expect(memo.get('POST', 'application/json', long)).toBeUndefined();
  memo.set('POST', 'application/json', 'b', { operation: 'b', hash: 'h3' });
  memo.set('POST', 'application/json', 'c', { operation: 'c', hash: 'h4' });
  expect(memo.get('POST', 'application/json', '{"query":"{a}"}')).toBeUndefined();
});

const db = useSeededDatabase({ donors: 30, hospitals: 4, donations: 60, campaigns: 2, requests: 4, seed: 3 });

test('repeated requests hit their own entries: variables and response format keep them apart', async () => {
  const app = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: uniqueCachePrefix() } });
  const q = 'query D($id: ID!) { donor(id: $id) { id name } }';
  const one = await gql(app.url, q, { id: '1' });
  const two = await gql(app.url, q, { id: '2' });
  expectNoErrors(one);
  expectNoErrors(two);
  for (let i = 0; i < 3; i++) {
    const again1 = await gql(app.url, q, { id: '1' });
    const again2 = await gql(app.url, q, { id: '2' });
    expect([again1.headers.get('x-cache'), again2.headers.get('x-cache')]).toEqual(['HIT', 'HIT']);
    expect(again1.text).toBe(one.text);
    expect(again2.text).toBe(two.text);
  }
  const graphqlResponse = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query: q, variables: { id: '1' } }),
  });
  expect(graphqlResponse.headers.get('content-type')).toMatch(/application\/graphql-response\+json/);
  expect(graphqlResponse.headers.get('x-cache')).toBe('MISS');
  // A remembered text with a bad body shape still reaches Apollo's own validation on a miss.
  const bad = await gql(app.url, q, { id: { nested: true } } as never);
  expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const badAgain = await gql(app.url, q, { id: { nested: true } } as never);
  expect(badAgain.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});
