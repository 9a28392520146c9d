// Auth on connection_init, and sessions that end while subscribed: logout on another instance
// closes them at once (broadcast); a revocation that is not broadcast (refresh-token reuse) or
// an expired token closes them at the next periodic re-verification.
import { startSharedRedisPair, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { operationsOpen, subscribe } from './helpers.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;

beforeAll(async () => {
  // Re-verification every 300 ms on A, so the test need not wait a minute.
  [a, b] = await startSharedRedisPair(db().url, { live: { reauthenticateMs: 300 } });
});

const DASHBOARD = 'subscription { dashboardStatsUpdated { openRequests } }';
const INVENTORY = 'subscription { inventoryChanged { units } }';

test('a bad token in connection_init is refused with 4403; no token is an anonymous connection', async () => {
  const bad = subscribe(a, INVENTORY, { token: 'not-a-jwt' });
  expect((await bad.closed).code).toBe(4403);
  const anonymous = subscribe(a, INVENTORY);
  await operationsOpen(a, 1);
  await anonymous.dispose();
});

test('logout on another instance closes that session’s subscriptions at once (4401), and only those', async () => {
  const [mine, other] = await Promise.all([login(a.url, 'staff'), login(a.url, 'staff')]);
  // On B, whose periodic re-verification is a minute away: only the broadcast can close it.
  const signedOut = subscribe(b, INVENTORY, { token: mine.accessToken });
  const stays = subscribe(b, INVENTORY, { token: other.accessToken });
  await operationsOpen(b, 2);

  expectNoErrors(await gql(a.url, 'mutation { logout }', undefined, { token: mine.accessToken }));
  const closed = await signedOut.closed;
  expect(closed).toEqual({ code: 4401, reason: 'Session ended (signed out): sign in again.' });

  // The other session still receives events.
  expectNoErrors(await gql(b.url, 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_POS, delta: 1) { units } }', undefined, { token: other.accessToken }));
  await stays.received(1);
  await stays.dispose();
});

test('a session revoked without a broadcast (refresh token reused) is closed by the periodic re-verification', async () => {
  const session = await login(a.url, 'donor');
  const sub = subscribe(a, DASHBOARD, { token: session.accessToken });
  await operationsOpen(a, 1);
  const REFRESH = 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }';
  expectNoErrors(await gql(b.url, REFRESH, { t: session.refreshToken }));
  // Presenting the rotated token again means it was copied: the whole session is revoked.
  const reuse = await gql(b.url, REFRESH, { t: session.refreshToken });
  expect(reuse.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect((await sub.closed).code).toBe(4401);
});
