// What the outbox costs a write: exactly one statement (the INSERT of its tags, inside the
// write's transaction), and nothing on a read. Counted on the app's own pool, which is what a
// request sends; the relay polls on a pool of its own, independent of the number of writes.
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
  // No cache, so no outbox: the same write as it was before the outbox existed.
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

const WRITES: [string, string][] = [
  ['updateDonor', 'mutation { updateDonor(id: "12", input: { city: "C%N" }) { city } }'],
  ['adjustInventory', 'mutation { adjustInventory(hospitalId: "2", bloodGroup: O_POS, delta: 1) { units } }'],
  ['createBloodRequest', 'mutation { createBloodRequest(input: { hospitalId: "2", bloodGroup: A_POS, unitsNeeded: 2, urgency: URGENT }) { id } }'],
];

test.each(WRITES)('%s: one added statement per write (the outbox INSERT), and none per read', async (_name, mutation) => {
  const run = (instance: Instance, n: number) => statementsOf(instance, async () => expectNoErrors(await gql(instance.url, mutation.replace('%N', String(n)), undefined, { token: staff })));
  // Warm both once (prepared-statement and pool effects are not the write's cost).
  await run(cached, 0);
  await run(uncached, 1);
  const before = await run(uncached, 2);
  const after = await run(cached, 3);
  const added = after.filter((s) => !before.includes(s));
  console.log(`${_name}: ${before.length} statements without the outbox, ${after.length} with it`);
  expect(after.length).toBe(before.length + 1);
  expect(added).toEqual([expect.stringMatching(/^INSERT INTO cache_invalidations/)]);
});

test('a read sends no outbox or lease statement', async () => {
  const query = '{ donor(id: "13") { id city } }';
  const seen = await statementsOf(cached, async () => expectNoErrors(await gql(cached.url, query)));
  expect(seen.filter((s) => /cache_invalidations|cache_leases/.test(s))).toEqual([]);
  // Served from the cache the second time: no statement at all.
  expect(await statementsOf(cached, async () => expectNoErrors(await gql(cached.url, query)))).toEqual([]);
});
