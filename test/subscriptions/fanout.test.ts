// SPEC §7 live subscriptions over two instances sharing Redis: every subscriber on every
// instance gets each matching event once, in commit order per entity; filters run on the
// server; PRIVATE fields resolve per subscriber; a client whose instance dies resumes on the
// other with `after` and misses nothing.
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { eventually, operationsOpen, subscribe, type Received } from './helpers.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;
let staff: string;
const env = { CACHE_PREFIX: uniqueCachePrefix() };
const start = () => startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });

beforeAll(async () => {
  [a, b] = await Promise.all([start(), start()]);
  staff = (await demoTokens(a.url)).staff;
});

const mutate = async (instance: Instance, q: string, variables?: Record<string, unknown>) =>
  expectNoErrors(await gql(instance.url, q, variables, { token: staff }));
const adjust = (instance: Instance, hospitalId: number, bloodGroup: string, delta: number) =>
  mutate(instance, `mutation { adjustInventory(hospitalId: "${hospitalId}", bloodGroup: ${bloodGroup}, delta: ${delta}) { units } }`).then(
    (d) => d.adjustInventory.units as number,
  );
const units = async (hospitalId: number, bloodGroup: string) =>
  (await query<{ units: number }>(db().url, `SELECT units FROM inventory WHERE hospital_id = $1 AND blood_group = $2`, [hospitalId, bloodGroup]))[0]
    ?.units ?? 0;
const regionOf = async (hospitalId: number) =>
  (await query<{ region: string }>(db().url, 'SELECT region FROM hospitals WHERE id = $1', [hospitalId]))[0]!.region;

type InventoryEvent = { inventoryChanged: { units: number; bloodGroup: string; hospital: { id: string; region: string } } };
const INVENTORY = `subscription($g: BloodGroup, $r: String, $after: String) {
  inventoryChanged(bloodGroup: $g, region: $r, after: $after) { units bloodGroup hospital { id region } }
}`;
const sequence = (events: Received<InventoryEvent>[]) => events.map((e) => `${e.data.inventoryChanged.hospital.id}/${e.data.inventoryChanged.bloodGroup}/${e.data.inventoryChanged.units}`);

test('every subscriber on both instances gets each matching event once, in order; bloodGroup and region filter on the server', async () => {
  const north = await regionOf(1);
  const onA = subscribe<InventoryEvent>(a, INVENTORY, { variables: { g: 'O_NEG' } });
  const onB = subscribe<InventoryEvent>(b, INVENTORY, { variables: { g: 'O_NEG' } });
  const byRegion = subscribe<InventoryEvent>(b, INVENTORY, { variables: { r: north } });
  const otherGroup = subscribe<InventoryEvent>(a, INVENTORY, { variables: { g: 'A_POS' } });
  await Promise.all([operationsOpen(a, 2), operationsOpen(b, 2)]);

  // Writes through both instances; hospital 1 is in `north`, hospital 2 is not.
  const acks: string[] = [];
  acks.push(`1/O_NEG/${await adjust(a, 1, 'O_NEG', 3)}`);
  acks.push(`2/O_NEG/${await adjust(b, 2, 'O_NEG', 2)}`);
  const aPos = await adjust(b, 1, 'A_POS', 1);
  acks.push(`1/O_NEG/${await adjust(b, 1, 'O_NEG', -1)}`);
  acks.push(`2/O_NEG/${await adjust(a, 2, 'O_NEG', 5)}`);

  // Exactly the O_NEG changes, in commit order, on both instances, each once (the last
  // event was published after every other one, and a topic's events arrive in log order).
  const [gotA, gotB] = await Promise.all([onA.received(4), onB.received(4)]);
  expect(sequence(gotA)).toEqual(acks);
  expect(sequence(gotB)).toEqual(acks);
  expect(onA.events).toHaveLength(4);
  expect(onB.events).toHaveLength(4);
  // One event, one id, the same on every instance.
  expect(gotA.map((e) => e.eventId)).toEqual(gotB.map((e) => e.eventId));
  expect(new Set(gotA.map((e) => e.eventId)).size).toBe(4);

  // Region: hospital 1's changes only (O_NEG and A_POS, interleaved in commit order).
  await byRegion.received(3);
  expect(sequence(byRegion.events)).toEqual([acks[0], `1/A_POS/${aPos}`, acks[2]]);
  expect(byRegion.events.every((e) => e.data.inventoryChanged.hospital.region === north)).toBe(true);

  // The other group's subscriber saw only its group.
  await otherGroup.received(1);
  await adjust(a, 3, 'A_POS', 1); // a later matching event proves nothing else was queued before it
  await otherGroup.received(2);
  expect(otherGroup.events.map((e) => e.data.inventoryChanged.bloodGroup)).toEqual(['A_POS', 'A_POS']);
  expect(onA.events).toHaveLength(4);
});

test('concurrent writes to one entity over two instances reach every subscriber in commit order', async () => {
  const [hospital, group, writes] = [3, 'B_NEG', 40];
  const before = await units(hospital, group);
  // Every subscription attached to its instance's events before the first write: one that
  // attached after a commit rightly never sees that commit's event.
  const listening = [a, b].map((i) => i.app.liveStats().pubsub.listeners);
  const subs = [a, a, b, b].map((i) => subscribe<InventoryEvent>(i, INVENTORY, { variables: { g: group } }));
  await Promise.all([operationsOpen(a, 2), operationsOpen(b, 2)]);
  await eventually('4 new listeners', () => a.app.liveStats().pubsub.listeners >= listening[0]! + 2 && b.app.liveStats().pubsub.listeners >= listening[1]! + 2);
  const supersededBefore = a.app.liveStats().pubsub.superseded + b.app.liveStats().pubsub.superseded;

  // Row locks serialise the writes: the k-th commit leaves before + k units.
  const acked = await Promise.all(Array.from({ length: writes }, (_, i) => adjust(i % 2 ? a : b, hospital, group, 1)));
  expect([...acked].sort((x, y) => x - y)).toEqual(Array.from({ length: writes }, (_, i) => before + i + 1));

  // Racing after-commit publishes may refuse an event already superseded by a later commit of
  // the same entity (never publish it late, out of order): count those. On a loaded machine a
  // publish can also outlast the client's command timeout while Redis still runs it (published or
  // refused): the publisher cannot know which, so the count is a bound, and the test waits for the
  // final state instead of a number of events.
  const superseded = a.app.liveStats().pubsub.superseded + b.app.liveStats().pubsub.superseded - supersededBefore;
  const expected = writes - superseded;
  const final = before + writes;
  const results = await Promise.all(
    subs.map((s) => s.receivedWhere((d) => d.inventoryChanged.units === final).then(() => s.events.slice())),
  );
  for (const got of results) {
    expect(got.length).toBeGreaterThanOrEqual(Math.min(expected, writes / 2));
    const seen = got.map((e) => e.data.inventoryChanged.units);
    // Strictly increasing = commit order, no duplicates; ends at the final state.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    expect(seen.at(-1)).toBe(before + writes);
    expect(got.map((e) => e.eventId)).toEqual(results[0]!.map((e) => e.eventId));
  }
  expect(superseded).toBeLessThan(writes / 2);
  console.log(`superseded ${superseded} of ${writes}`);
  await Promise.all(subs.map((s) => s.dispose()));
});

test('bloodRequestChanged filters by region and minUrgency', async () => {
  const region = await regionOf(5);
  const other = 6;
  expect(await regionOf(other)).not.toBe(region);
  const sub = subscribe(b, `subscription($r: String) { bloodRequestChanged(region: $r, minUrgency: URGENT) { id urgency status unitsFulfilled hospital { region } } }`, {
    variables: { r: region },
  });
  await operationsOpen(b, 1);
  const create = (hospitalId: number, urgency: string) =>
    mutate(a, `mutation { createBloodRequest(input: { hospitalId: "${hospitalId}", bloodGroup: O_POS, unitsNeeded: 3, urgency: ${urgency} }) { id } }`).then(
      (d) => d.createBloodRequest.id as string,
    );
  await create(5, 'ROUTINE');
  const urgent = await create(5, 'URGENT');
  await create(other, 'EMERGENCY');
  const emergency = await create(5, 'EMERGENCY');
  await mutate(b, `mutation { cancelBloodRequest(id: "${urgent}") { id } }`);

  const got = await sub.received(3);
  expect(got.map((e) => [e.data.bloodRequestChanged.id, e.data.bloodRequestChanged.urgency, e.data.bloodRequestChanged.status])).toEqual([
    [urgent, 'URGENT', 'OPEN'],
    [emergency, 'EMERGENCY', 'OPEN'],
    [urgent, 'URGENT', 'CANCELLED'],
  ]);
  expect(got.every((e) => e.data.bloodRequestChanged.hospital.region === region)).toBe(true);
  await sub.dispose();
});

test('donationRecorded: campaignId filters; donor PRIVATE fields only for STAFF and the donor themself', async () => {
  const DONATION = `subscription($c: ID) { donationRecorded(campaignId: $c) { id units campaign { id } donor { id email phone points } } }`;
  const startsAt = new Date(Date.now() - 3_600_000).toISOString();
  const endsAt = new Date(Date.now() + 86_400_000).toISOString();
  const campaign = (
    await mutate(a, `mutation($s: DateTime!, $e: DateTime!) { createCampaign(input: { hospitalId: "2", title: "Live drive", startsAt: $s, endsAt: $e, goalUnits: 50 }) { id } }`, {
      s: startsAt,
      e: endsAt,
    })
  ).createCampaign.id as string;
  const donorToken = (await login(a.url, 'donor')).accessToken;

  const asStaff = subscribe(a, DONATION, { token: staff });
  const anonymous = subscribe(b, DONATION);
  const asDonor1 = subscribe(b, DONATION, { token: donorToken });
  const ofCampaign = subscribe(a, DONATION, { variables: { c: campaign }, token: staff });
  await Promise.all([operationsOpen(a, 2), operationsOpen(b, 2)]);

  // Three eligible donors other than #1, and #1 made eligible.
  const eligible = await query<{ id: number }>(
    db().url,
    `SELECT id FROM donors WHERE id <> 1 AND (last_donation_at IS NULL OR last_donation_at < now() - interval '60 days') ORDER BY id LIMIT 3`,
  );
  await query(db().url, 'UPDATE donors SET last_donation_at = NULL WHERE id = 1');
  const record = (donorId: number, campaignId?: string) =>
    mutate(b, `mutation { recordDonation(input: { donorId: "${donorId}", hospitalId: "2"${campaignId ? `, campaignId: "${campaignId}"` : ''} }) { id } }`).then(
      (d) => d.recordDonation.id as string,
    );
  const plain = await record(eligible[0]!.id);
  const inCampaign = await record(eligible[1]!.id, campaign);
  const own = await record(1);

  const [staffGot, anonGot, donorGot, campaignGot] = await Promise.all([asStaff.received(3), anonymous.received(3), asDonor1.received(3), ofCampaign.received(1)]);
  expect(staffGot.map((e) => e.data.donationRecorded.id)).toEqual([plain, inCampaign, own]);
  expect(staffGot.every((e) => e.data.donationRecorded.donor.email !== null)).toBe(true);
  expect(anonGot.every((e) => e.data.donationRecorded.donor.email === null && e.data.donationRecorded.donor.phone === null)).toBe(true);
  // Donor #1 sees only their own email.
  expect(donorGot.map((e) => e.data.donationRecorded.donor.email === null)).toEqual([true, true, false]);
  // The donor as of that donation: points include it.
  const [{ points }] = await query<{ points: number }>(db().url, 'SELECT points FROM donors WHERE id = 1');
  expect(donorGot[2]!.data.donationRecorded.donor.points).toBe(points);

  expect(campaignGot[0]!.data.donationRecorded).toMatchObject({ id: inCampaign, campaign: { id: campaign } });
  await record(eligible[2]!.id, campaign);
  await ofCampaign.received(2);
  expect(ofCampaign.events.every((e) => e.data.donationRecorded.campaign?.id === campaign)).toBe(true);
  await Promise.all([asStaff, anonymous, asDonor1, ofCampaign].map((s) => s.dispose()));
});

test('a bad or unknown `after` is a BAD_USER_INPUT error on that subscription', async () => {
  const bad = subscribe(a, INVENTORY, { variables: { after: 'not-an-event-id' } });
  expect(await bad.failed).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }) })]);
  // Well-formed but never logged (or long gone): the client cannot be told what it missed.
  const gone = subscribe(a, INVENTORY, { variables: { after: Buffer.from('inventoryChanged:1-0').toString('base64url') } });
  expect(await gone.failed).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
  // Another topic's id.
  const wrong = subscribe(a, INVENTORY, { variables: { after: Buffer.from('donationRecorded:1-0').toString('base64url') } });
  expect(await wrong.failed).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
  await Promise.all([bad, gone, wrong].map((s) => s.dispose()));
});

test('resume: the instance a client is on is stopped mid-stream; it resubscribes on the other with `after` and misses nothing', async () => {
  const c = await start();
  const [hospital, group, total] = [4, 'AB_NEG', 30];
  const before = await units(hospital, group);
  const first = subscribe<InventoryEvent>(c, INVENTORY, { variables: { g: group } });
  await operationsOpen(c, 1);

  // A writer on B keeps committing, one change at a time, throughout.
  let written = 0;
  const writer = (async () => {
    for (; written < total; written++) await adjust(b, hospital, group, 1);
  })();
  await first.received(5);
  await c.stop();
  expect((await first.closed).code).toBe(1001);
  const seenFirst = first.events.map((e) => e.data.inventoryChanged.units);
  const last = first.events.at(-1)!.eventId;

  const second = subscribe<InventoryEvent>(b, INVENTORY, { variables: { g: group, after: last } });
  await writer;
  await second.received(total - seenFirst.length);
  const all = [...seenFirst, ...second.events.map((e) => e.data.inventoryChanged.units)];
  expect(all).toEqual(Array.from({ length: total }, (_, i) => before + i + 1));
  expect(second.events).toHaveLength(total - seenFirst.length);
  await second.dispose();
});
