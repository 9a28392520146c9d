// What a write costs in SQL statements, outbox row included, and that a read sends no outbox
// statement. Counted on the app's own pool, which is what a request sends; the relay polls on a
// pool of its own, independent of the number of writes.
//
// A one-statement write is its lookups, its write, its outbox INSERT and its commit-order read
// as CTEs of ONE autocommit statement: no BEGIN, no COMMIT. The counts below are exact, so a
// statement added back to any write fails here.
import { sql } from 'drizzle-orm';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl } from '../helpers/redis.js';

const db = useSeededDatabase();
let cached: Instance;
let uncached: Instance;
let staff: string;

beforeAll(async () => {
  cached = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() });
  // No cache, so no outbox row: the same statement without its outbox CTE.
  uncached = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_MODE: 'off' } });
  staff = (await demoTokens(cached.url)).staff;
}, 60_000);

async function statementsOf(instance: Instance, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const off = instance.app.database.onStatement((s) => seen.push(s));
  try {
    await fn();
  } finally {
    off();
  }
  return seen;
}

const mutate = async (instance: Instance, mutation: string, variables?: Record<string, unknown>) =>
  expectNoErrors(await gql(instance.url, mutation, variables, { token: staff }));

const CREATE_REQUEST = 'mutation { createBloodRequest(input: { hospitalId: "2", bloodGroup: A_POS, unitsNeeded: 2, urgency: URGENT }) { id } }';
const openRequest = async (instance: Instance) => (await mutate(instance, CREATE_REQUEST)).createBloodRequest.id as string;

interface Case {
  name: string;
  /** Statements the write sends, with the cache (outbox row included) and without. */
  statements: number;
  /** Builds the mutation for run n (setup may send its own writes first: they are not counted). */
  prepare(instance: Instance, n: number): Promise<[string, Record<string, unknown>?]>;
}

const ONE_STATEMENT: Case[] = [
  { name: 'updateDonor', statements: 1, prepare: async (_i, n) => [`mutation { updateDonor(id: "12", input: { city: "C${n}" }) { city } }`] },
  { name: 'adjustInventory', statements: 1, prepare: async () => ['mutation { adjustInventory(hospitalId: "2", bloodGroup: O_POS, delta: 1) { units } }'] },
  { name: 'createBloodRequest', statements: 1, prepare: async () => [CREATE_REQUEST] },
  { name: 'cancelBloodRequest', statements: 1, prepare: async (i) => [`mutation { cancelBloodRequest(id: "${await openRequest(i)}") { status } }`] },
  {
    name: 'fulfillBloodRequest',
    statements: 1,
    prepare: async (i) => {
      await mutate(i, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: A_POS, delta: 1) { units } }');
      return [`mutation { fulfillBloodRequest(id: "${await openRequest(i)}", units: 1) { unitsFulfilled } }`];
    },
  },
  {
    name: 'recordDonation',
    statements: 1,
    // A new donor per run (each may give once every 56 days), with a campaign of the hospital running.
    prepare: async (i, n) => {
      const donor = expectNoErrors(await gql(i.url, REGISTER, { e: `donation-${n}-${Date.now()}@example.org` })).register.donor.id as string;
      const campaign = (await mutate(i, `mutation { createCampaign(input: { hospitalId: "2", title: "now", startsAt: "${new Date(Date.now() - 86_400_000).toISOString()}", endsAt: "${new Date(Date.now() + 30 * 86_400_000).toISOString()}", goalUnits: 5 }) { id } }`)).createCampaign.id as string;
      return [`mutation { recordDonation(input: { donorId: "${donor}", hospitalId: "2", campaignId: "${campaign}", units: 1 }) { id } }`];
    },
  },
  {
    name: 'createCampaign',
    statements: 1,
    prepare: async () => ['mutation { createCampaign(input: { hospitalId: "2", title: "t", startsAt: "2030-01-01T00:00:00Z", endsAt: "2030-02-01T00:00:00Z", goalUnits: 5 }) { id } }'],
  },
];

test.each(ONE_STATEMENT.map((c) => [c.name, c] as const))('%s: one statement, the outbox INSERT inside it', async (_name, c) => {
  const run = async (instance: Instance, n: number) => {
    const [mutation, variables] = await c.prepare(instance, n);
    return statementsOf(instance, () => mutate(instance, mutation, variables));
  };
  // Warm both once (prepared-statement and pool effects are not the write's cost).
  await run(cached, 0);
  await run(uncached, 1);
  const without = await run(uncached, 2);
  const withOutbox = await run(cached, 3);
  console.log(`${c.name}: ${withOutbox.length} statement(s) with the outbox, ${without.length} without`);
  expect(withOutbox).toHaveLength(c.statements);
  expect(without).toHaveLength(c.statements);
  expect(withOutbox.filter((s) => /^\s*(begin|commit)\b/i.test(s))).toEqual([]);
  expect(withOutbox.filter((s) => /INSERT INTO cache_invalidations/.test(s))).toHaveLength(1);
  expect(without.filter((s) => /cache_invalidations/.test(s))).toEqual([]);
});

test('a refused one-statement write leaves no write and no outbox row', async () => {
  const { app } = cached;
  const count = async () => {
    const rows = (await app.database.db.execute(
      // Outstanding and applied rows alike: any row a refusal inserted would be here.
      sql`SELECT (SELECT count(*)::int FROM cache_invalidations) AS outbox, (SELECT units FROM inventory WHERE hospital_id = 3 AND blood_group = 'B_NEG') AS units`,
    )) as unknown as { outbox: number; units: number | null }[];
    return rows[0]!;
  };
  // Exactly the stock there is, then one unit more than there is.
  await mutate(cached, 'mutation { adjustInventory(hospitalId: "3", bloodGroup: B_NEG, delta: 1) { units } }');
  const before = await count();
  const seen = await statementsOf(cached, async () => {
    const res = await gql(cached.url, `mutation { adjustInventory(hospitalId: "3", bloodGroup: B_NEG, delta: ${-(before.units! + 1)}) { units } }`, undefined, { token: staff });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
  expect(seen).toHaveLength(1);
  expect(await count()).toEqual(before);
});

test('a read sends no outbox or lease statement', async () => {
  const query = '{ donor(id: "13") { id city } }';
  const seen = await statementsOf(cached, async () => expectNoErrors(await gql(cached.url, query)));
  expect(seen.filter((s) => /cache_invalidations|cache_leases/.test(s))).toEqual([]);
  // Served from the cache the second time: no statement at all.
  expect(await statementsOf(cached, async () => expectNoErrors(await gql(cached.url, query)))).toEqual([]);
});

const REGISTER = 'mutation($e: String!) { register(input: { email: $e, password: "correct horse battery", name: "Reg", bloodGroup: O_POS, region: "North", city: "Northgate" }) { donor { id } } }';

test('register: the donor, its account and the outbox row in one statement', async () => {
  const seen = await statementsOf(cached, async () => expectNoErrors(await gql(cached.url, REGISTER, { e: 'one-statement@example.org' })));
  const writes = seen.filter((s) => /insert into donors/i.test(s));
  expect(writes).toHaveLength(1);
  expect(writes[0]).toMatch(/INSERT INTO users/i);
  expect(writes[0]).toMatch(/cache_invalidations/);
  expect(seen.filter((s) => /^\s*(begin|commit)\b/i.test(s))).toEqual([]);
});

test('register: two registrations of one email racing leave one account and one donor; the other is refused', async () => {
  const email = 'race-register@example.org';
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => gql((i % 2 ? uncached : cached).url, REGISTER, { e: email })));
  const ok = results.filter((r) => !r.body.errors);
  expect(ok).toHaveLength(1);
  for (const r of results.filter((r) => r.body.errors)) expect(r.body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
  const rows = (await cached.app.database.db.execute(
    sql`SELECT (SELECT count(*)::int FROM users WHERE email = ${email}) AS accounts, (SELECT count(*)::int FROM donors WHERE email = ${email}) AS donors`,
  )) as unknown as { accounts: number; donors: number }[];
  expect(rows[0]).toEqual({ accounts: 1, donors: 1 });
});
