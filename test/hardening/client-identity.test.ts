// The sign-in and sign-up limits count per real client address, on every instance: behind
// TRUST_PROXY proxies that is the X-Forwarded-For entry the nearest proxy wrote, otherwise the
// socket's peer (a client cannot pick a fresh budget by forging the header). One client's bad
// passwords lock that client out of the account, not everyone else.
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql, type GqlResponse } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const db = useSeededDatabase();

/** Instances sharing one Redis and one key prefix, i.e. one set of budgets. */
async function cluster(n: number, env: Record<string, string>): Promise<Instance[]> {
  const shared = { CACHE_PREFIX: uniqueCachePrefix(), RATE_LIMIT_PER_MINUTE: '1000', LOGIN_RATE_LIMIT_PER_MINUTE: '3', ...env };
  return Promise.all(Array.from({ length: n }, () => startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: shared })));
}

const LOGIN = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }';
const REGISTER = 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }';
const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });
const codeOf = (res: GqlResponse) => res.body?.errors?.[0]?.extensions?.code;
let registered = 0;
const newDonor = () => ({
  email: `client.identity.${process.pid}.${++registered}@example.org`,
  password: 'a-good-password',
  name: 'New Person',
  bloodGroup: 'O_POS',
  region: 'North',
  city: 'Northville',
});

test('TRUST_PROXY=1: bad passwords from one address lock only that address out of the account, on every instance', async () => {
  const instances = await cluster(3, { TRUST_PROXY: '1' });
  const { email, password } = DEMO_ACCOUNTS.staff;
  const attacker = '203.0.113.9';
  for (let i = 0; i < 3; i++) {
    expect(codeOf(await gql(instances[i % 3]!.url, LOGIN, { e: email, p: 'wrong-password' }, from(attacker)))).toBe('UNAUTHENTICATED');
  }
  // The attacker is out, with the right password too, on any instance...
  const refused = await gql(instances[1]!.url, LOGIN, { e: email, p: password }, from(attacker));
  expect(refused.status).toBe(429);
  expect(codeOf(refused)).toBe('RATE_LIMITED');
  // ...the account's owner, signing in from elsewhere, is not.
  expect(expectNoErrors(await gql(instances[2]!.url, LOGIN, { e: email, p: password }, from('198.51.100.20'))).login.accessToken).toEqual(expect.any(String));
  // A client behind the proxy that prepends its own X-Forwarded-For still counts as the address the proxy saw.
  const forgedChain = { headers: { 'x-forwarded-for': `198.51.100.20, ${attacker}` } };
  expect(codeOf(await gql(instances[0]!.url, LOGIN, { e: email, p: password }, forgedChain))).toBe('RATE_LIMITED');
}, 60_000);

test('TRUST_PROXY=1: sign-ups from distinct addresses have separate budgets across instances', async () => {
  const [a, b] = await cluster(2, { TRUST_PROXY: '1' });
  for (let i = 0; i < 3; i++) expectNoErrors(await gql(i % 2 ? a.url : b.url, REGISTER, { i: newDonor() }, from('203.0.113.50')));
  const fourth = await gql(a.url, REGISTER, { i: newDonor() }, from('203.0.113.50'));
  expect(fourth.status).toBe(429);
  expect(codeOf(fourth)).toBe('RATE_LIMITED');
  // Another client signs up normally.
  expectNoErrors(await gql(b.url, REGISTER, { i: newDonor() }, from('203.0.113.51')));
}, 60_000);

test('TRUST_PROXY unset: a forged X-Forwarded-For does not pick a new budget', async () => {
  const [a, b] = await cluster(2, {});
  for (let i = 0; i < 3; i++) expectNoErrors(await gql(i % 2 ? a.url : b.url, REGISTER, { i: newDonor() }, from(`203.0.113.${100 + i}`)));
  const forged = await gql(b.url, REGISTER, { i: newDonor() }, from('203.0.113.200'));
  expect(forged.status).toBe(429);
  expect(codeOf(forged)).toBe('RATE_LIMITED');
}, 60_000);

/** One operation over graphql-ws: its result, or the errors it was refused with. */
function overWebSocket(instance: Instance, query: string, variables: Record<string, unknown>) {
  const client = createClient({ url: instance.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
  return new Promise<{ data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
    let result: { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] } = {};
    client.subscribe(
      { query, variables },
      {
        next: (r) => (result = r as typeof result),
        error: (err) => (Array.isArray(err) ? resolve({ errors: err }) : reject(err)),
        complete: () => resolve(result),
      },
    );
  }).finally(() => client.dispose());
}

test('sign-in over the WebSocket draws from the same budget as over HTTP', async () => {
  const [a, b] = await cluster(2, {});
  const { email, password } = DEMO_ACCOUNTS.donor;
  for (let i = 0; i < 3; i++) {
    const res = await overWebSocket(b, LOGIN, { e: email, p: 'wrong-password' });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  }
  expect((await overWebSocket(b, LOGIN, { e: email, p: password })).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  const overHttp = await gql(a.url, LOGIN, { e: email, p: password });
  expect(overHttp.status).toBe(429);
  expect(codeOf(overHttp)).toBe('RATE_LIMITED');
}, 60_000);
