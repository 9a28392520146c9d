// Every mutation: success, auth failure and bad input; bad input leaves the database unchanged.
import { startInstance, type Instance } from '../helpers/app.js';
import { databaseDigest, query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

const db = useSeededDatabase();
let instance: Instance;
let tokens: Awaited<ReturnType<typeof demoTokens>>;

beforeAll(async () => {
  instance = await startInstance({ databaseUrl: db().url });
  tokens = await demoTokens(instance.url);
});

const codeOf = (res: Awaited<ReturnType<typeof gql>>) => res.body?.errors?.[0]?.extensions?.code;

/** An eligible donor (never donated or long ago) for recordDonation. */
async function eligibleDonor(): Promise<{ id: number; blood_group: string }> {
  const [row] = await query<{ id: number; blood_group: string }>(
    db().url,
    `SELECT id, blood_group FROM donors WHERE last_donation_at IS NULL OR last_donation_at < now() - interval '60 days' ORDER BY id DESC LIMIT 1`,
  );
  return row!;
}

async function openRequest(): Promise<{ id: number; remaining: number; hospital_id: number; blood_group: string }> {
  const [row] = await query<{ id: number; remaining: number; hospital_id: number; blood_group: string }>(
    db().url,
    `SELECT id, units_needed - units_fulfilled AS remaining, hospital_id, blood_group FROM blood_requests WHERE status = 'OPEN' ORDER BY id LIMIT 1`,
  );
  return row!;
}

// ---------------------------------------------------------------------------
// Auth failures: no token → UNAUTHENTICATED; the DONOR role → FORBIDDEN.

const STAFF_MUTATIONS: [string, string][] = [
  ['recordDonation', 'mutation { recordDonation(input: { donorId: "1", hospitalId: "1" }) { id } }'],
  ['createBloodRequest', 'mutation { createBloodRequest(input: { hospitalId: "1", bloodGroup: O_NEG, unitsNeeded: 2, urgency: URGENT }) { id } }'],
  ['fulfillBloodRequest', 'mutation { fulfillBloodRequest(id: "1", units: 1) { id } }'],
  ['cancelBloodRequest', 'mutation { cancelBloodRequest(id: "1") { id } }'],
  ['adjustInventory', 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: 3) { units } }'],
  ['createCampaign', 'mutation { createCampaign(input: { hospitalId: "1", title: "x", startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-02-01T00:00:00Z", goalUnits: 10 }) { id } }'],
  ['purgeCache', 'mutation { purgeCache(type: "Donor") }'],
];

describe.each(STAFF_MUTATIONS)('%s refuses the wrong caller and changes nothing', (_name, mutation) => {
  test('no token → UNAUTHENTICATED; DONOR → FORBIDDEN', async () => {
    const before = await databaseDigest(db().url);
    expect(codeOf(await gql(instance.url, mutation))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(instance.url, mutation, undefined, { token: tokens.donor }))).toBe('FORBIDDEN');
    expect(await databaseDigest(db().url)).toEqual(before);
  });
});

test('purgeCache is ADMIN only', async () => {
  expect(codeOf(await gql(instance.url, 'mutation { purgeCache(type: "Donor") }', undefined, { token: tokens.staff }))).toBe('FORBIDDEN');
  const ok = expectNoErrors(await gql(instance.url, 'mutation { purgeCache(type: "Donor", id: "1") }', undefined, { token: tokens.admin }));
  expect(ok.purgeCache).toBeGreaterThanOrEqual(0);
});

test('updateDonor: another donor is FORBIDDEN, no token UNAUTHENTICATED', async () => {
  const m = 'mutation { updateDonor(id: "2", input: { city: "Elsewhere" }) { id } }';
  const before = await databaseDigest(db().url);
  expect(codeOf(await gql(instance.url, m))).toBe('UNAUTHENTICATED');
  expect(codeOf(await gql(instance.url, m, undefined, { token: tokens.donor }))).toBe('FORBIDDEN');
  expect(await databaseDigest(db().url)).toEqual(before);
});

// ---------------------------------------------------------------------------
// Bad input: a clear BAD_USER_INPUT (or NOT_FOUND), and not one row changed.

const BAD_INPUT: [string, string, Record<string, unknown> | undefined, string][] = [
  ['recordDonation, units 0', 'mutation { recordDonation(input: { donorId: "1", hospitalId: "1", units: 0 }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['recordDonation, units 3', 'mutation { recordDonation(input: { donorId: "1", hospitalId: "1", units: 3 }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['recordDonation, unknown donor', 'mutation { recordDonation(input: { donorId: "99999", hospitalId: "1" }) { id } }', undefined, 'NOT_FOUND'],
  ['recordDonation, unknown hospital', 'mutation { recordDonation(input: { donorId: "1", hospitalId: "99999" }) { id } }', undefined, 'NOT_FOUND'],
  ['recordDonation, unknown campaign', 'mutation($d: ID!) { recordDonation(input: { donorId: $d, hospitalId: "1", campaignId: "99999" }) { id } }', { d: 'ELIGIBLE' }, 'NOT_FOUND'],
  ['recordDonation, malformed id', 'mutation { recordDonation(input: { donorId: "one", hospitalId: "1" }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['createBloodRequest, units 0', 'mutation { createBloodRequest(input: { hospitalId: "1", bloodGroup: O_NEG, unitsNeeded: 0, urgency: URGENT }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['createBloodRequest, units huge', 'mutation { createBloodRequest(input: { hospitalId: "1", bloodGroup: O_NEG, unitsNeeded: 2000000000, urgency: URGENT }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['createBloodRequest, unknown hospital', 'mutation { createBloodRequest(input: { hospitalId: "4242", bloodGroup: O_NEG, unitsNeeded: 2, urgency: URGENT }) { id } }', undefined, 'NOT_FOUND'],
  ['createBloodRequest, bad enum', 'mutation { createBloodRequest(input: { hospitalId: "1", bloodGroup: Z_POS, unitsNeeded: 2, urgency: URGENT }) { id } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['fulfillBloodRequest, negative units', 'mutation { fulfillBloodRequest(id: "1", units: -5) { id } }', undefined, 'BAD_USER_INPUT'],
  ['fulfillBloodRequest, unknown id', 'mutation { fulfillBloodRequest(id: "99999", units: 1) { id } }', undefined, 'NOT_FOUND'],
  ['fulfillBloodRequest, more than needed', 'mutation($id: ID!) { fulfillBloodRequest(id: $id, units: 1000) { id } }', { id: 'OPEN' }, 'BAD_USER_INPUT'],
  ['fulfillBloodRequest, units as string', 'mutation($u: Int!) { fulfillBloodRequest(id: "1", units: $u) { id } }', { u: 'many' }, 'BAD_USER_INPUT'],
  ['cancelBloodRequest, unknown id', 'mutation { cancelBloodRequest(id: "99999") { id } }', undefined, 'NOT_FOUND'],
  ['adjustInventory, delta 0', 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: 0) { units } }', undefined, 'BAD_USER_INPUT'],
  ['adjustInventory, below zero', 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: -9999) { units } }', undefined, 'BAD_USER_INPUT'],
  ['adjustInventory, unknown hospital', 'mutation { adjustInventory(hospitalId: "777", bloodGroup: O_NEG, delta: 1) { units } }', undefined, 'NOT_FOUND'],
  ['adjustInventory, int overflow', 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: 99999999999) { units } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['createCampaign, ends before start', 'mutation { createCampaign(input: { hospitalId: "1", title: "T", startsAt: "2030-02-01T00:00:00Z", endsAt: "2030-01-01T00:00:00Z", goalUnits: 10 }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['createCampaign, empty title', 'mutation { createCampaign(input: { hospitalId: "1", title: "   ", startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-02-01T00:00:00Z", goalUnits: 10 }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['createCampaign, bad date', 'mutation { createCampaign(input: { hospitalId: "1", title: "T", startsAt: "yesterday", endsAt: "2030-02-01T00:00:00Z", goalUnits: 10 }) { id } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['createCampaign, overlong title', `mutation { createCampaign(input: { hospitalId: "1", title: "${'x'.repeat(500)}", startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-02-01T00:00:00Z", goalUnits: 10 }) { id } }`, undefined, 'BAD_USER_INPUT'],
  ['createCampaign, unknown hospital', 'mutation { createCampaign(input: { hospitalId: "555", title: "T", startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-02-01T00:00:00Z", goalUnits: 10 }) { id } }', undefined, 'NOT_FOUND'],
  ['updateDonor, nothing to change', 'mutation { updateDonor(id: "1", input: {}) { id } }', undefined, 'BAD_USER_INPUT'],
  ['updateDonor, bad phone', 'mutation { updateDonor(id: "1", input: { phone: "call me" }) { id } }', undefined, 'BAD_USER_INPUT'],
  ['updateDonor, unknown field', 'mutation { updateDonor(id: "1", input: { bloodGroup: A_POS }) { id } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['updateDonor, unknown donor', 'mutation { updateDonor(id: "99999", input: { city: "X" }) { id } }', undefined, 'NOT_FOUND'],
  ['purgeCache, unknown type', 'mutation { purgeCache(type: "Nope") }', undefined, 'BAD_USER_INPUT'],
];

test.each(BAD_INPUT)('bad input: %s', async (_name, mutation, variables, code) => {
  const vars = { ...variables };
  if (vars.d === 'ELIGIBLE') vars.d = String((await eligibleDonor()).id);
  if (vars.id === 'OPEN') vars.id = String((await openRequest()).id);
  const before = await databaseDigest(db().url);
  const res = await gql(instance.url, mutation, variables ? vars : undefined, { token: tokens.admin });
  expect(res.body.errors?.[0]?.message).toEqual(expect.any(String));
  expect(codeOf(res)).toBe(code);
  expect(res.body.data?.[Object.keys(res.body.data ?? {})[0] ?? ''] ?? null).toBeNull();
  expect(await databaseDigest(db().url)).toEqual(before);
  // The server still answers afterwards.
  expectNoErrors(await gql(instance.url, '{ hospital(id: "1") { id } }'));
});

// ---------------------------------------------------------------------------
// Success paths, with every table the mutation must touch checked.

test('recordDonation: donation row, inventory, donor lastDonationAt and points, campaign collectedUnits, dashboard', async () => {
  const [campaign] = await query<{ id: number; hospital_id: number; collected_units: number }>(
    db().url,
    `SELECT id, hospital_id, collected_units FROM campaigns WHERE starts_at <= now() AND ends_at > now() ORDER BY id LIMIT 1`,
  );
  expect(campaign).toBeDefined();
  const donor = await eligibleDonor();
  const [stock] = await query<{ units: number }>(db().url, 'SELECT units FROM inventory WHERE hospital_id = $1 AND blood_group = $2', [
    campaign!.hospital_id,
    donor.blood_group,
  ]);
  const before = expectNoErrors(await gql(instance.url, `{ donor(id: "${donor.id}") { points } dashboardStats { totalUnitsCollected } }`));

  const res = expectNoErrors(
    await gql(
      instance.url,
      'mutation($i: RecordDonationInput!) { recordDonation(input: $i) { id units bloodGroup donor { id lastDonationAt points eligible } hospital { id } campaign { id collectedUnits } } }',
      { i: { donorId: String(donor.id), hospitalId: String(campaign!.hospital_id), campaignId: String(campaign!.id), units: 1 } },
      { token: tokens.staff },
    ),
  );
  const d = res.recordDonation;
  expect(d.bloodGroup).toBe(donor.blood_group);
  expect(d.donor.points).toBe(before.donor.points + 10);
  expect(d.donor.eligible).toBe(false);
  expect(Date.now() - new Date(d.donor.lastDonationAt).getTime()).toBeLessThan(60_000);
  expect(d.campaign.collectedUnits).toBe(campaign!.collected_units + 1);
  const [after] = await query<{ units: number }>(db().url, 'SELECT units FROM inventory WHERE hospital_id = $1 AND blood_group = $2', [
    campaign!.hospital_id,
    donor.blood_group,
  ]);
  expect(after!.units).toBe(stock!.units + 1);
  const dash = expectNoErrors(await gql(instance.url, '{ dashboardStats { totalUnitsCollected } }'));
  expect(dash.dashboardStats.totalUnitsCollected).toBe(before.dashboardStats.totalUnitsCollected + 1);

  // The same donor again is refused (56 days) and nothing changes.
  const digest = await databaseDigest(db().url);
  const again = await gql(instance.url, `mutation { recordDonation(input: { donorId: "${donor.id}", hospitalId: "${campaign!.hospital_id}" }) { id } }`, undefined, {
    token: tokens.staff,
  });
  expect(codeOf(again)).toBe('BAD_USER_INPUT');
  expect(again.body.errors?.[0]?.message).toMatch(/not eligible until/);
  expect(await databaseDigest(db().url)).toEqual(digest);
});

test('createBloodRequest then fulfil in parts until FULFILLED, stock moves with it; cancel only OPEN', async () => {
  await gql(instance.url, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: AB_NEG, delta: 10) { units } }', undefined, { token: tokens.staff });
  const created = expectNoErrors(
    await gql(instance.url, 'mutation { createBloodRequest(input: { hospitalId: "2", bloodGroup: AB_NEG, unitsNeeded: 3, urgency: EMERGENCY }) { id status unitsFulfilled hospital { id } } }', undefined, {
      token: tokens.staff,
    }),
  ).createBloodRequest;
  expect(created).toMatchObject({ status: 'OPEN', unitsFulfilled: 0, hospital: { id: '2' } });
  const stock = async () => (await query<{ units: number }>(db().url, `SELECT units FROM inventory WHERE hospital_id = 2 AND blood_group = 'AB_NEG'`))[0]!.units;
  const units0 = await stock();
  const part = expectNoErrors(await gql(instance.url, `mutation { fulfillBloodRequest(id: "${created.id}", units: 2) { status unitsFulfilled } }`, undefined, { token: tokens.staff }));
  expect(part.fulfillBloodRequest).toEqual({ status: 'OPEN', unitsFulfilled: 2 });
  const done = expectNoErrors(await gql(instance.url, `mutation { fulfillBloodRequest(id: "${created.id}", units: 1) { status unitsFulfilled } }`, undefined, { token: tokens.staff }));
  expect(done.fulfillBloodRequest).toEqual({ status: 'FULFILLED', unitsFulfilled: 3 });
  expect(await stock()).toBe(units0 - 3);
  const more = await gql(instance.url, `mutation { fulfillBloodRequest(id: "${created.id}", units: 1) { status } }`, undefined, { token: tokens.staff });
  expect(codeOf(more)).toBe('BAD_USER_INPUT');
  const cancelDone = await gql(instance.url, `mutation { cancelBloodRequest(id: "${created.id}") { status } }`, undefined, { token: tokens.staff });
  expect(codeOf(cancelDone)).toBe('BAD_USER_INPUT');

  const other = expectNoErrors(
    await gql(instance.url, 'mutation { createBloodRequest(input: { hospitalId: "2", bloodGroup: A_POS, unitsNeeded: 1, urgency: ROUTINE }) { id } }', undefined, { token: tokens.admin }),
  ).createBloodRequest;
  const cancelled = expectNoErrors(await gql(instance.url, `mutation { cancelBloodRequest(id: "${other.id}") { status } }`, undefined, { token: tokens.staff }));
  expect(cancelled.cancelBloodRequest.status).toBe('CANCELLED');
});

test('fulfillBloodRequest without enough stock fails and rolls back the request too', async () => {
  await query(db().url, `UPDATE inventory SET units = 1 WHERE hospital_id = 3 AND blood_group = 'B_NEG'`);
  const created = expectNoErrors(
    await gql(instance.url, 'mutation { createBloodRequest(input: { hospitalId: "3", bloodGroup: B_NEG, unitsNeeded: 5, urgency: URGENT }) { id } }', undefined, { token: tokens.staff }),
  ).createBloodRequest;
  const before = await databaseDigest(db().url);
  const res = await gql(instance.url, `mutation { fulfillBloodRequest(id: "${created.id}", units: 2) { id } }`, undefined, { token: tokens.staff });
  expect(codeOf(res)).toBe('BAD_USER_INPUT');
  expect(res.body.errors?.[0]?.message).toMatch(/Not enough B_NEG/);
  expect(await databaseDigest(db().url)).toEqual(before);
});

test('adjustInventory adds and removes, never below zero', async () => {
  const add = expectNoErrors(await gql(instance.url, 'mutation { adjustInventory(hospitalId: "4", bloodGroup: O_POS, delta: 7) { units hospital { id } bloodGroup } }', undefined, { token: tokens.staff }));
  const units = add.adjustInventory.units;
  const remove = expectNoErrors(await gql(instance.url, `mutation { adjustInventory(hospitalId: "4", bloodGroup: O_POS, delta: -${units}) { units } }`, undefined, { token: tokens.staff }));
  expect(remove.adjustInventory.units).toBe(0);
  const below = await gql(instance.url, 'mutation { adjustInventory(hospitalId: "4", bloodGroup: O_POS, delta: -1) { units } }', undefined, { token: tokens.staff });
  expect(codeOf(below)).toBe('BAD_USER_INPUT');
});

test('createCampaign takes the hospital region and appears in campaigns', async () => {
  const starts = new Date(Date.now() - 3_600_000).toISOString();
  const ends = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const c = expectNoErrors(
    await gql(instance.url, 'mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { id title region collectedUnits hospital { region } } }', {
      i: { hospitalId: '5', title: '  Winter drive  ', startsAt: starts, endsAt: ends, goalUnits: 50 },
    }, { token: tokens.staff }),
  ).createCampaign;
  expect(c.title).toBe('Winter drive');
  expect(c.region).toBe(c.hospital.region);
  expect(c.collectedUnits).toBe(0);
  const list = expectNoErrors(await gql(instance.url, '{ campaigns { id } }'));
  expect(list.campaigns.map((x: { id: string }) => x.id)).toContain(c.id);
});

test('updateDonor by the donor themself and by staff', async () => {
  const self = expectNoErrors(await gql(instance.url, 'mutation { updateDonor(id: "1", input: { city: "Newtown", phone: "+44 20 7946 0000" }) { city phone } }', undefined, { token: tokens.donor }));
  expect(self.updateDonor).toEqual({ city: 'Newtown', phone: '+44 20 7946 0000' });
  const staff = expectNoErrors(await gql(instance.url, 'mutation { updateDonor(id: "2", input: { name: "Renamed Donor" }) { name } }', undefined, { token: tokens.staff }));
  expect(staff.updateDonor.name).toBe('Renamed Donor');
});
