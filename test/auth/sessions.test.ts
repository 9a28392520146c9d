// A user's sessions across two instances sharing Redis: mySessions lists them (device hint,
// created, last used, which one is current), revokeSession signs one out (only your own), and
// logoutEverywhere signs out every session at once on every instance, closing their open
// WebSocket subscriptions on the other instance too.
import { startSharedRedisPair, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { operationsOpen, subscribe } from '../subscriptions/helpers.js';
import { deviceHint } from '../../src/auth/auth-service.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;

beforeAll(async () => {
  [a, b] = await startSharedRedisPair(db().url);
});

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const INVENTORY = 'subscription { inventoryChanged { units } }';
const SESSIONS = '{ mySessions { id device createdAt lastUsedAt current } }';
const codeOf = (res: Awaited<ReturnType<typeof gql>>) => res.body?.errors?.[0]?.extensions?.code;

async function signIn(instance: Instance, who: 'donor' | 'staff', userAgent: string) {
  const { email, password } = DEMO_ACCOUNTS[who];
  const res = await gql(instance.url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }', { e: email, p: password }, { headers: { 'user-agent': userAgent } });
  return expectNoErrors(res).login as { accessToken: string; refreshToken: string };
}

interface SessionView {
  id: string;
  device: string | null;
  createdAt: string;
  lastUsedAt: string;
  current: boolean;
}
const sessionsOf = async (instance: Instance, token: string): Promise<SessionView[]> => expectNoErrors(await gql(instance.url, SESSIONS, undefined, { token })).mySessions;

test('mySessions lists the user’s sessions from any instance, with device hint, times and the current one', async () => {
  const started = Date.now();
  const laptop = await signIn(a, 'staff', FIREFOX);
  const phone = await signIn(b, 'staff', IPHONE);
  const other = await signIn(a, 'donor', FIREFOX);

  const fromA = await sessionsOf(a, laptop.accessToken);
  const fromB = await sessionsOf(b, phone.accessToken);
  expect(fromA.map((s) => s.id).sort()).toEqual(fromB.map((s) => s.id).sort());
  const mine = fromA.filter((s) => s.device === 'Firefox on Linux' || s.device === 'Safari on iOS');
  expect(mine).toHaveLength(2);
  expect(fromA.filter((s) => s.current)).toHaveLength(1);
  expect(fromA.find((s) => s.current)!.device).toBe('Firefox on Linux');
  expect(fromB.find((s) => s.current)!.device).toBe('Safari on iOS');
  for (const s of mine) {
    expect(Date.parse(s.createdAt)).toBeGreaterThanOrEqual(started - 1000);
    expect(Date.parse(s.lastUsedAt)).toBeGreaterThanOrEqual(Date.parse(s.createdAt));
  }
  // The donor's session is not the staff member's business, and vice versa.
  const donors = await sessionsOf(a, other.accessToken);
  expect(donors.some((s) => fromA.some((t) => t.id === s.id))).toBe(false);
  // Anonymous: no sessions to list.
  expect(codeOf(await gql(a.url, SESSIONS))).toBe('UNAUTHENTICATED');
});

test('revokeSession signs out one of your sessions on every instance; another user’s id is refused', async () => {
  const keep = await signIn(a, 'donor', FIREFOX);
  const lose = await signIn(b, 'donor', IPHONE);
  const stranger = await signIn(a, 'staff', FIREFOX);
  const loseId = (await sessionsOf(b, lose.accessToken)).find((s) => s.current)!.id;

  // Someone else's session id: false, and the session keeps working.
  expect(expectNoErrors(await gql(a.url, 'mutation($id: ID!) { revokeSession(id: $id) }', { id: loseId }, { token: stranger.accessToken })).revokeSession).toBe(false);
  expectNoErrors(await gql(b.url, '{ me { id } }', undefined, { token: lose.accessToken }));

  // Listed once before the revocation, by the same token on the same instance: the list after it must be fresh.
  expect((await sessionsOf(b, keep.accessToken)).some((s) => s.id === loseId)).toBe(true);
  const sub = subscribe(b, INVENTORY, { token: lose.accessToken });
  await operationsOpen(b, 1);
  expect(expectNoErrors(await gql(a.url, 'mutation($id: ID!) { revokeSession(id: $id) }', { id: loseId }, { token: keep.accessToken })).revokeSession).toBe(true);
  // Closed on the other instance by the broadcast (its periodic re-check is a minute away).
  expect((await sub.closed).code).toBe(4401);
  expect((await gql(b.url, '{ me { id } }', undefined, { token: lose.accessToken })).status).toBe(401);
  expect(codeOf(await gql(b.url, 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }', { t: lose.refreshToken }))).toBe('UNAUTHENTICATED');
  // The one that revoked it still works, and the revoked one is gone from the list.
  const left = await sessionsOf(b, keep.accessToken);
  expect(left.some((s) => s.id === loseId)).toBe(false);
  expect(left.find((s) => s.current)).toBeDefined();
  // Unknown id: false.
  expect(expectNoErrors(await gql(a.url, 'mutation { revokeSession(id: "nope") }', undefined, { token: keep.accessToken })).revokeSession).toBe(false);
});

test('logoutEverywhere on A: every session refused on B at once, refresh tokens dead, WebSockets on B closed, other users untouched', async () => {
  const s1 = await signIn(a, 'donor', FIREFOX);
  const s2 = await signIn(b, 'donor', IPHONE);
  const s3 = await signIn(b, 'donor', 'curl/8.5.0');
  const bystander = await signIn(b, 'staff', FIREFOX);
  for (const s of [s1, s2, s3]) expectNoErrors(await gql(b.url, '{ me { id } }', undefined, { token: s.accessToken }));

  const sub2 = subscribe(b, INVENTORY, { token: s2.accessToken });
  const sub3 = subscribe(b, INVENTORY, { token: s3.accessToken });
  const stays = subscribe(b, INVENTORY, { token: bystander.accessToken });
  await operationsOpen(b, 3);

  expect(expectNoErrors(await gql(a.url, 'mutation { logoutEverywhere }', undefined, { token: s1.accessToken })).logoutEverywhere).toBe(true);

  // Right after, on the other instance: every session's access token is refused.
  for (const s of [s1, s2, s3]) {
    const res = await gql(b.url, '{ me { id } }', undefined, { token: s.accessToken });
    expect(res.status).toBe(401);
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(b.url, 'mutation($t: String!) { refreshToken(token: $t) { accessToken } }', { t: s.refreshToken }))).toBe('UNAUTHENTICATED');
  }
  expect((await sub2.closed).code).toBe(4401);
  expect((await sub3.closed).code).toBe(4401);

  // Another user's session and subscription are untouched.
  expectNoErrors(await gql(b.url, '{ hospitals { id } }', undefined, { token: bystander.accessToken }));
  expectNoErrors(await gql(a.url, 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_POS, delta: 1) { units } }', undefined, { token: bystander.accessToken }));
  await stays.received(1);
  await stays.dispose();

  // Signing in again works, and lists only the new session.
  const fresh = await signIn(a, 'donor', FIREFOX);
  const list = await sessionsOf(b, fresh.accessToken);
  expect(list).toHaveLength(1);
  expect(list[0]!.current).toBe(true);
});

test('device hints', () => {
  expect(deviceHint(FIREFOX)).toBe('Firefox on Linux');
  expect(deviceHint(IPHONE)).toBe('Safari on iOS');
  expect(deviceHint('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0')).toBe('Edge on Windows');
  expect(deviceHint('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36')).toBe('Chrome on macOS');
  expect(deviceHint('curl/8.5.0')).toBe('curl');
  expect(deviceHint('MyApp/2.1 (build 7)')).toBe('MyApp');
  expect(deviceHint('')).toBeNull();
  expect(deviceHint(undefined)).toBeNull();
});
