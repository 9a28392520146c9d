// Rate limits: per client IP and per user, shared by every instance through
// Redis, applied before the response cache (hits count too); sign-in attempts limited harder.
import { startInstance, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql, type GqlResponse } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';

const db = useSeededDatabase();

/** Two instances sharing one Redis and one key prefix, i.e. one set of budgets. */
async function pair(env: Record<string, string>): Promise<[Instance, Instance]> {
  const shared = { CACHE_PREFIX: uniqueCachePrefix(), ...env };
  return Promise.all([
    startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: shared }),
    startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: shared }),
  ]);
}

const codeOf = (res: GqlResponse) => res.body?.errors?.[0]?.extensions?.code;

function expectRateLimited(res: GqlResponse) {
  expect(res.status).toBe(429);
  expect(codeOf(res)).toBe('RATE_LIMITED');
  const retryAfter = res.body.errors![0]!.extensions!.retryAfter as number;
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.headers.get('retry-after')).toBe(String(retryAfter));
}

const HOSPITALS = '{ hospitals { id name } }';

test('per IP, shared by two instances, cache hits and GETs included', async () => {
  const [a, b] = await pair({ RATE_LIMIT_PER_MINUTE: '5' });
  const seen: (string | null)[] = [];
  for (const [url, method] of [[a.url, 'POST'], [b.url, 'POST'], [a.url, 'GET'], [b.url, 'GET'], [a.url, 'POST']] as const) {
    const res = await gql(url, HOSPITALS, undefined, { method });
    expectNoErrors(res);
    seen.push(res.headers.get('x-cache'));
  }
  expect(seen.slice(1)).toEqual(['HIT', 'HIT', 'HIT', 'HIT']);
  // The sixth request would be a cache hit on either instance; both refuse it.
  expectRateLimited(await gql(a.url, HOSPITALS));
  expectRateLimited(await gql(b.url, HOSPITALS, undefined, { method: 'GET' }));
  // Mutations too, before they run.
  expectRateLimited(await gql(b.url, 'mutation { login(email: "x@y.z", password: "whatever1") { accessToken } }'));
  // Health and readiness are not GraphQL and are never limited.
  expect((await fetch(`${a.url}/health`)).status).toBe(200);
});

test('per user: one user exhausting their budget on two instances does not limit another user or anonymous callers', async () => {
  const [a, b] = await pair({ RATE_LIMIT_PER_MINUTE: '6' });
  // Two sign-ins are two anonymous requests from this IP (4 of 6 left for anonymous callers).
  const staff = (await login(a.url, 'staff')).accessToken;
  const donor = (await login(b.url, 'donor')).accessToken;
  for (let i = 0; i < 6; i++) expectNoErrors(await gql(i % 2 ? a.url : b.url, HOSPITALS, undefined, { token: staff }));
  expectRateLimited(await gql(a.url, HOSPITALS, undefined, { token: staff }));
  expectRateLimited(await gql(b.url, '{ me { id } }', undefined, { token: staff }));
  expectNoErrors(await gql(b.url, HOSPITALS, undefined, { token: donor }));
  expectNoErrors(await gql(a.url, HOSPITALS));
});

test('without Redis: the in-process limiter', async () => {
  const solo = await startInstance({ databaseUrl: db().url, env: { RATE_LIMIT_PER_MINUTE: '3' } });
  for (let i = 0; i < 3; i++) expectNoErrors(await gql(solo.url, HOSPITALS));
  expectRateLimited(await gql(solo.url, HOSPITALS));
  await solo.stop();
});

test('RATE_LIMIT_PER_MINUTE=0 turns it off', async () => {
  const [a] = await pair({ RATE_LIMIT_PER_MINUTE: '0' });
  const results = await Promise.all(Array.from({ length: 30 }, () => gql(a.url, HOSPITALS)));
  expect(results.every((r) => r.status === 200)).toBe(true);
});

describe('sign-in attempts', () => {
  const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';

  test('10 per minute per IP and email across instances (even with the right password after), other emails unaffected', async () => {
    const [a, b] = await pair({ RATE_LIMIT_PER_MINUTE: '1000' });
    const { email, password } = DEMO_ACCOUNTS.staff;
    for (let i = 0; i < 10; i++) {
      const res = await gql(i % 2 ? a.url : b.url, LOGIN, { e: i % 3 ? email : `  ${email.toUpperCase()} `, p: 'wrong-password' });
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
    }
    const refused = await gql(a.url, LOGIN, { e: email, p: password });
    expectRateLimited(refused);
    expect(refused.body.data ?? null).toBeNull();
    // Another account from the same address still signs in.
    expectNoErrors(await gql(b.url, LOGIN, { e: DEMO_ACCOUNTS.admin.email, p: DEMO_ACCOUNTS.admin.password }));
  }, 60_000);

  test('aliases and automatic persisted queries count like separate plain attempts', async () => {
    const [a] = await pair({ RATE_LIMIT_PER_MINUTE: '1000', LOGIN_RATE_LIMIT_PER_MINUTE: '2' });
    const { createHash } = await import('node:crypto');
    const query = 'mutation L($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';
    const hash = createHash('sha256').update(query).digest('hex');
    const post = (body: unknown) =>
      fetch(`${a.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        json: (await r.json()) as { errors?: { extensions?: { code?: string } }[] },
      }));
    const variables = { e: DEMO_ACCOUNTS.donor.email, p: 'wrong-password' };
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    expect((await post({ query, variables, extensions })).json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await post({ variables, extensions })).json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const third = await post({ variables, extensions });
    expect(third.status).toBe(429);
    expect(third.json.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // Two aliased login fields are two attempts.
    const admin = DEMO_ACCOUNTS.admin.email;
    const aliased = await gql(a.url, `mutation { x: login(email: "${admin}", password: "a-wrong-one") { accessToken } y: login(email: "${admin}", password: "b-wrong-one") { accessToken } }`);
    expect(codeOf(aliased)).toBe('UNAUTHENTICATED');
    expectRateLimited(await gql(a.url, LOGIN, { e: admin, p: DEMO_ACCOUNTS.admin.password }));
  });
});
