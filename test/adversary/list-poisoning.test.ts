// An anonymous caller must not be able to choose what everyone else reads. Cache keys are an
// injective encoding of what selects the data, so a request that selects something else (a
// cursor naming id 0, an operationName of "") can never land on the key of another answer.
// Two instances share one Redis and one PostgreSQL, as in production; the attacker talks to one,
// the victims read from both.
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase({ donors: 40, hospitals: 6, donations: 200, campaigns: 4, requests: 20, seed: 11 });
let a: Instance;
let b: Instance;

beforeAll(async () => {
  const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_MODE: 'full' };
  a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
  b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
});

/** A syntactically valid cursor of `kind` naming id 0, which no row has. */
const cursorOfZero = (kind: string) => Buffer.from(`${kind}:0`, 'utf8').toString('base64url');

const EMERGENCIES = `query($after: String) {
  bloodRequests(status: OPEN, urgency: EMERGENCY, first: 20, after: $after) { nodes { id } totalCount }
}`;

test('a cursor of id 0 cannot empty the first page of open emergency requests', async () => {
  const { staff } = await demoTokens(a.url);
  const hospital = (await query<{ id: number }>(db().url, 'SELECT id FROM hospitals ORDER BY id LIMIT 1'))[0]!.id;
  const created = expectNoErrors(
    await gql(
      a.url,
      `mutation { createBloodRequest(input: { hospitalId: "${hospital}", bloodGroup: O_NEG, unitsNeeded: 3, urgency: EMERGENCY }) { id } }`,
      undefined,
      { token: staff },
    ),
  ).createBloodRequest.id as string;

  // The attack: anonymous, on instance a, before anyone read the first page.
  const attack = expectNoErrors(await gql(a.url, EMERGENCIES, { after: cursorOfZero('BloodRequest') }));
  expect(attack.bloodRequests.nodes).toEqual([]);

  // Every user, on either instance, still sees the open emergency requests.
  for (const instance of [a, b, a]) {
    const page = expectNoErrors(await gql(instance.url, EMERGENCIES));
    const ids = page.bloodRequests.nodes.map((n: { id: string }) => n.id);
    expect(ids).toContain(created);
    expect(page.bloodRequests.totalCount).toBeGreaterThanOrEqual(1);
  }
});

test("a cursor of id 0 cannot empty the first page of a donor's donations", async () => {
  const [donor] = await query<{ donorId: number; n: number }>(
    db().url,
    'SELECT donor_id AS "donorId", count(*)::int AS n FROM donations GROUP BY donor_id ORDER BY n DESC, donor_id LIMIT 1',
  );
  expect(donor!.n).toBeGreaterThan(0);
  const donations = `query($id: ID!, $after: String) { donor(id: $id) { donations(first: 5, after: $after) { nodes { id } } } }`;

  const attack = expectNoErrors(await gql(b.url, donations, { id: String(donor!.donorId), after: cursorOfZero('Donation') }));
  expect(attack.donor.donations.nodes).toEqual([]);

  for (const instance of [a, b]) {
    const page = expectNoErrors(await gql(instance.url, donations, { id: String(donor!.donorId) }));
    expect(page.donor.donations.nodes).toHaveLength(Math.min(5, donor!.n));
  }
});

test('operationName "" is not answered from the entry of a request without one', async () => {
  const body = { query: '{ dashboardStats { totalDonors } }' };
  const post = (url: string, payload: Record<string, unknown>) =>
    fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });

  const plain = await post(a.url, body);
  expect(plain.status).toBe(200);
  expect(((await plain.json()) as { data: unknown }).data).toBeTruthy();

  // Apollo names no operation "" (the document's one operation is anonymous): it refuses the
  // request, whichever instance it reaches, even though a cached answer to a similar one exists.
  for (const instance of [b, a]) {
    const refused = await post(instance.url, { ...body, operationName: '' });
    const json = (await refused.json()) as { data?: unknown; errors?: unknown[] };
    expect(json.errors?.length).toBeGreaterThan(0);
    expect(json.data ?? null).toBeNull();
    expect(refused.headers.get('x-cache')).not.toBe('HIT');
  }
});
