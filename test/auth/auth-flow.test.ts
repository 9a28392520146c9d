// register → login → refresh → logout over GraphQL, with two instances sharing Redis:
// a logout on one is refused at once on the other, over HTTP and WebSocket alike.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startSharedRedisPair, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;

beforeAll(async () => {
  [a, b] = await startSharedRedisPair(db().url);
});

const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken donor { id name email bloodGroup } } }`;
const codeOf = (res: Awaited<ReturnType<typeof gql>>) => res.body?.errors?.[0]?.extensions?.code;

function wsQuery(instance: Instance, token: string | undefined, q: string): Promise<unknown> {
  const client = createClient({
    url: instance.wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
  return new Promise((resolve, reject) => {
    let result: unknown;
    client.subscribe(
      { query: q },
      {
        next: (value) => (result = value),
        error: (err) => {
          void client.dispose();
          reject(err);
        },
        complete: () => {
          void client.dispose();
          resolve(result);
        },
      },
    );
  });
}

test('register creates a DONOR account and profile; the email is unique', async () => {
  const input = { email: 'New.Donor@Example.org', password: 'correct horse', name: 'New Donor', bloodGroup: 'B_NEG', region: 'North', city: 'Northgate' };
  const res = expectNoErrors(await gql(a.url, REGISTER, { i: input }));
  expect(res.register.donor).toMatchObject({ name: 'New Donor', email: 'new.donor@example.org', bloodGroup: 'B_NEG' });
  const [user] = await query<{ role: string; password_hash: string }>(db().url, `SELECT role, password_hash FROM users WHERE email = 'new.donor@example.org'`);
  expect(user!.role).toBe('DONOR');
  expect(user!.password_hash).toMatch(/^scrypt\$/);
  expect(user!.password_hash).not.toContain('correct horse');

  const me = expectNoErrors(await gql(b.url, '{ me { id email } }', undefined, { token: res.register.accessToken }));
  expect(me.me.id).toBe(res.register.donor.id);

  const dup = await gql(b.url, REGISTER, { i: { ...input, email: 'new.donor@example.org' } });
  expect(codeOf(dup)).toBe('BAD_USER_INPUT');
  const weak = await gql(a.url, REGISTER, { i: { ...input, email: 'x@example.org', password: 'short' } });
  expect(codeOf(weak)).toBe('BAD_USER_INPUT');
  const badEmail = await gql(a.url, REGISTER, { i: { ...input, email: 'not-an-email' } });
  expect(codeOf(badEmail)).toBe('BAD_USER_INPUT');
});

test('login: wrong password and unknown email are the same UNAUTHENTICATED', async () => {
  const wrong = await gql(a.url, 'mutation { login(email: "staff@lifeline.example", password: "nope-nope") { accessToken } }');
  const unknown = await gql(a.url, 'mutation { login(email: "ghost@lifeline.example", password: "nope-nope") { accessToken } }');
  expect(codeOf(wrong)).toBe('UNAUTHENTICATED');
  expect(codeOf(unknown)).toBe('UNAUTHENTICATED');
  expect(wrong.body.errors?.[0]?.message).toBe(unknown.body.errors?.[0]?.message);
});

test('refreshToken rotates: the new pair works on the other instance, the old refresh token is refused', async () => {
  const login = expectNoErrors(await gql(a.url, 'mutation { login(email: "staff@lifeline.example", password: "staff-password") { accessToken refreshToken donor { id } } }')).login;
  expect(login.donor).toBeNull();
  const refreshed = expectNoErrors(
    await gql(b.url, 'mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }', { t: login.refreshToken }),
  ).refreshToken;
  expect(refreshed.refreshToken).not.toBe(login.refreshToken);
  const again = await gql(a.url, 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }', { t: login.refreshToken });
  expect(codeOf(again)).toBe('UNAUTHENTICATED');
  const garbage = await gql(a.url, 'mutation { refreshToken(token: "garbage") { accessToken } }');
  expect(codeOf(garbage)).toBe('UNAUTHENTICATED');
});

test('logout on one instance revokes the session at once on the other, HTTP and WebSocket', async () => {
  const login = expectNoErrors(await gql(a.url, 'mutation { login(email: "donor@lifeline.example", password: "donor-password") { accessToken refreshToken } }')).login;
  const token = login.accessToken;
  expect(expectNoErrors(await gql(b.url, '{ me { id } }', undefined, { token })).me.id).toBe('1');
  await expect(wsQuery(b, token, '{ me { id } }')).resolves.toMatchObject({ data: { me: { id: '1' } } });

  expect(expectNoErrors(await gql(a.url, 'mutation { logout }', undefined, { token })).logout).toBe(true);

  const after = await gql(b.url, '{ me { id } }', undefined, { token });
  expect(after.status).toBe(401);
  expect(codeOf(after)).toBe('UNAUTHENTICATED');
  const refresh = await gql(b.url, 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }', { t: login.refreshToken });
  expect(codeOf(refresh)).toBe('UNAUTHENTICATED');
  // graphql-ws refuses the connection (4403) for a revoked token.
  await expect(wsQuery(b, token, '{ me { id } }')).rejects.toBeDefined();
  expect(codeOf(await gql(a.url, 'mutation { logout }'))).toBe('UNAUTHENTICATED');
});

test('a malformed or tampered bearer token is 401 UNAUTHENTICATED, not an anonymous request', async () => {
  const bad = await gql(a.url, '{ hospitals { id } }', undefined, { token: 'not.a.jwt' });
  expect(bad.status).toBe(401);
  expect(codeOf(bad)).toBe('UNAUTHENTICATED');
});
