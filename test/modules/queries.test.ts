// Every query of SPEC §5 over real HTTP against a seeded PostgreSQL.
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

const db = useSeededDatabase();
let instance: Instance;
let tokens: Awaited<ReturnType<typeof demoTokens>>;

beforeAll(async () => {
  instance = await startInstance({ databaseUrl: db().url });
  tokens = await demoTokens(instance.url);
});

test('availability lists hospitals holding the group, most units first', async () => {
  const data = expectNoErrors(await gql(instance.url, '{ availability(bloodGroup: O_NEG) { units bloodGroup updatedAt hospital { id name region } } }'));
  const items = data.availability;
  expect(items.length).toBeGreaterThan(0);
  for (const item of items) {
    expect(item.bloodGroup).toBe('O_NEG');
    expect(item.units).toBeGreaterThan(0);
    expect(item.hospital.name).toEqual(expect.any(String));
    expect(new Date(item.updatedAt).toISOString()).toBe(item.updatedAt);
  }
  const units = items.map((i: { units: number }) => i.units);
  expect(units).toEqual([...units].sort((a, b) => b - a));

  const region = items[0].hospital.region;
  const filtered = expectNoErrors(
    await gql(instance.url, 'query($r: String) { availability(bloodGroup: O_NEG, region: $r) { hospital { region } } }', { r: region }),
  );
  expect(filtered.availability.length).toBeGreaterThan(0);
  for (const item of filtered.availability) expect(item.hospital.region).toBe(region);
});

test('donors pages by id with filters, cursors and totalCount', async () => {
  const page1 = expectNoErrors(
    await gql(instance.url, '{ donors(first: 5) { totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage endCursor startCursor } } }'),
  );
  expect(page1.donors.totalCount).toBe(60);
  expect(page1.donors.edges).toHaveLength(5);
  expect(page1.donors.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
  const page2 = expectNoErrors(
    await gql(instance.url, 'query($a: String) { donors(first: 5, after: $a) { nodes { id } } }', { a: page1.donors.pageInfo.endCursor }),
  );
  const ids1 = page1.donors.edges.map((e: { node: { id: string } }) => Number(e.node.id));
  const ids2 = page2.donors.nodes.map((n: { id: string }) => Number(n.id));
  expect(Math.min(...ids2)).toBeGreaterThan(Math.max(...ids1));

  const filtered = expectNoErrors(
    await gql(instance.url, '{ donors(bloodGroup: O_POS, region: "North", first: 100) { totalCount nodes { bloodGroup region } } }'),
  );
  expect(filtered.donors.nodes.length).toBe(filtered.donors.totalCount);
  for (const d of filtered.donors.nodes) expect(d).toEqual({ bloodGroup: 'O_POS', region: 'North' });
});

test('a bad cursor or page size is BAD_USER_INPUT', async () => {
  const bad = await gql(instance.url, '{ donors(first: 5, after: "bm9wZQ") { nodes { id } } }');
  expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const huge = await gql(instance.url, '{ donors(first: 1000) { nodes { id } } }');
  expect(huge.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

test('donor, hospital and campaign by id; unknown ids are null, malformed ids BAD_USER_INPUT', async () => {
  const data = expectNoErrors(
    await gql(instance.url, '{ donor(id: "1") { id name eligible points lastDonationAt } hospital(id: "1") { id name inventory { bloodGroup units } requests { id status } } campaign(id: "1") { id title goalUnits collectedUnits hospital { id } donations(first: 3) { totalCount nodes { id campaign { id } } } } }'),
  );
  expect(data.donor.id).toBe('1');
  expect(data.hospital.inventory).toHaveLength(8);
  expect(data.campaign.donations.nodes.every((n: { campaign: { id: string } }) => n.campaign.id === '1')).toBe(true);
  const missing = expectNoErrors(await gql(instance.url, '{ donor(id: "999999") { id } hospital(id: "99999999999") { id } campaign(id: "424242") { id } }'));
  expect(missing).toEqual({ donor: null, hospital: null, campaign: null });
  const malformed = await gql(instance.url, '{ donor(id: "abc") { id } }');
  expect(malformed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
});

test('hospitals by region, requests filtered by status', async () => {
  const data = expectNoErrors(await gql(instance.url, '{ hospitals(region: "North") { id region requests(status: OPEN) { status hospital { region } } } all: hospitals { id } }'));
  expect(data.all).toHaveLength(8);
  for (const h of data.hospitals) {
    expect(h.region).toBe('North');
    for (const r of h.requests) expect(r).toEqual({ status: 'OPEN', hospital: { region: 'North' } });
  }
});

test('bloodRequests filters by status, urgency and region', async () => {
  const all = expectNoErrors(await gql(instance.url, '{ bloodRequests(first: 100) { totalCount nodes { id } } }'));
  expect(all.bloodRequests.totalCount).toBe(30);
  const open = expectNoErrors(
    await gql(instance.url, '{ bloodRequests(status: OPEN, urgency: EMERGENCY, region: "North", first: 100) { totalCount nodes { status urgency hospital { region } } } }'),
  );
  expect(open.bloodRequests.nodes).toHaveLength(open.bloodRequests.totalCount);
  for (const r of open.bloodRequests.nodes) expect(r).toEqual({ status: 'OPEN', urgency: 'EMERGENCY', hospital: { region: 'North' } });
});

test('campaigns: activeOnly by default, all with activeOnly: false', async () => {
  const data = expectNoErrors(await gql(instance.url, '{ active: campaigns { startsAt endsAt } all: campaigns(activeOnly: false) { id } }'));
  expect(data.all).toHaveLength(8);
  const now = Date.now();
  for (const c of data.active) {
    expect(new Date(c.startsAt).getTime()).toBeLessThanOrEqual(now);
    expect(new Date(c.endsAt).getTime()).toBeGreaterThan(now);
  }
});

test('dashboardStats totals', async () => {
  const data = expectNoErrors(
    await gql(instance.url, '{ dashboardStats { totalDonors totalUnitsCollected openRequests pendingEmergencyRequests inventory { bloodGroup units } generatedAt } }'),
  );
  expect(data.dashboardStats).toMatchObject({ totalDonors: 60, totalUnitsCollected: 300 });
  expect(data.dashboardStats.inventory.map((g: { bloodGroup: string }) => g.bloodGroup)).toEqual([
    'A_POS', 'A_NEG', 'B_POS', 'B_NEG', 'AB_POS', 'AB_NEG', 'O_POS', 'O_NEG',
  ]);
  expect(data.dashboardStats.openRequests).toBeGreaterThanOrEqual(data.dashboardStats.pendingEmergencyRequests);
});

test('PRIVATE fields: only the donor themself, STAFF and ADMIN see email and phone', async () => {
  const query = '{ donor(id: "1") { email phone } }';
  const anonymous = expectNoErrors(await gql(instance.url, query));
  expect(anonymous.donor).toEqual({ email: null, phone: null });
  const self = expectNoErrors(await gql(instance.url, query, undefined, { token: tokens.donor }));
  expect(self.donor.email).toEqual(expect.stringContaining('@'));
  const staff = expectNoErrors(await gql(instance.url, query, undefined, { token: tokens.staff }));
  expect(staff.donor.email).toBe(self.donor.email);
  const other = expectNoErrors(await gql(instance.url, '{ donor(id: "2") { email } }', undefined, { token: tokens.donor }));
  expect(other.donor.email).toBeNull();
});

test('me: the signed-in donor; null without a token (no error: "is anyone signed in?" is a question); null for staff', async () => {
  const me = expectNoErrors(await gql(instance.url, '{ me { id email } }', undefined, { token: tokens.donor }));
  expect(me.me.id).toBe('1');
  const anon = await gql(instance.url, '{ me { id } }');
  expect(anon.status).toBe(200);
  expect(anon.body).toEqual({ data: { me: null } });
  expect(expectNoErrors(await gql(instance.url, '{ me { id } }', undefined, { token: tokens.staff })).me).toBeNull();
});

test('Cache-Control follows the hints: public short maxAge, private when PRIVATE fields are asked', async () => {
  const pub = await gql(instance.url, '{ availability(bloodGroup: A_POS) { units hospital { name } } }');
  expect(pub.headers.get('cache-control')).toBe('max-age=10, public');
  const priv = await gql(instance.url, '{ donor(id: "1") { name email } }', undefined, { token: tokens.staff });
  // Donor 1 (and the dashboard) may have been cached by an earlier test moments ago: the response
  // may not outlive that entry: its remaining life, a few seconds under the hint on a busy machine.
  const privMaxAge = Number(/^max-age=(\d+), private$/.exec(priv.headers.get('cache-control') ?? '')?.[1]);
  expect(privMaxAge).toBeGreaterThanOrEqual(570);
  expect(privMaxAge).toBeLessThanOrEqual(600);
  const dash = await gql(instance.url, '{ dashboardStats { totalDonors } }');
  expect(dash.headers.get('cache-control')).toMatch(/^max-age=[45], public$/);
});

test('GET works for queries and is refused for mutations', async () => {
  const get = await gql(instance.url, '{ hospitals { id } }', undefined, { method: 'GET' });
  expect(get.status).toBe(200);
  expect(get.body.data.hospitals).toHaveLength(8);
  const mutation = await gql(instance.url, 'mutation { logout }', undefined, { method: 'GET' });
  expect(mutation.status).toBe(405);
});

test('introspection is on outside production', async () => {
  const data = expectNoErrors(await gql(instance.url, '{ __schema { queryType { name } types { name } } }'));
  const names = data.__schema.types.map((t: { name: string }) => t.name);
  for (const n of ['Donor', 'Hospital', 'InventoryItem', 'BloodRequest', 'Campaign', 'Donation', 'DashboardStats', 'DateTime']) {
    expect(names).toContain(n);
  }
});

test('/health and /ready', async () => {
  const health = await fetch(`${instance.url}/health`);
  expect(health.status).toBe(200);
  const ready = await fetch(`${instance.url}/ready`);
  expect(ready.status).toBe(200);
  const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean; latencyMs: number }> };
  expect(body.status).toBe('ready');
  expect(body.checks.postgres.ok).toBe(true);
  expect(typeof body.checks.postgres.latencyMs).toBe('number');
});
