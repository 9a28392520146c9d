// Refresh instead of drop, as a user sees it: when a write deletes a shared response that was
// being read, one instance of the deployment recomputes it at once, so the next readers, on any
// instance, get a HIT that already shows the write instead of each going to PostgreSQL.
import { startInstance, startSharedRedisPair, type Instance } from "../helpers/app.js";
import { demoTokens, useSeededDatabase } from "../helpers/fixtures.js";
import { expectNoErrors, gql } from "../helpers/graphql.js";
import { scrape, sum } from "../helpers/metrics.js";
import { testRedisUrl, uniqueCachePrefix } from "../helpers/redis.js";

const db = useSeededDatabase({
  donors: 40,
  hospitals: 6,
  donations: 100,
  campaigns: 2,
  requests: 6,
  seed: 31,
});

const AVAILABILITY =
  "query Availability($group: BloodGroup!) { availability(bloodGroup: $group) { units hospital { id } } }";
const HOSPITAL = 'query { hospital(id: "2") { id inventory { bloodGroup units } } }';
const ADJUST = (delta: number) =>
  `mutation { adjustInventory(hospitalId: "2", bloodGroup: B_NEG, delta: ${delta}) { units } }`;

const refreshedOn = async (instance: Instance) =>
  sum((await scrape(instance)).samples, "lifeline_cache_refreshed_total");
const unitsOf = (body: { availability: { units: number; hospital: { id: string } }[] }) =>
  body.availability.find((row) => row.hospital.id === "2")?.units ?? 0;

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("a write's dropped hot responses are recomputed once across instances; the next readers get HITs showing the write", async () => {
  const [a, b] = await startSharedRedisPair(db().url);
  const tokens = await demoTokens(a.url);
  const vars = { group: "B_NEG" };

  // Hot on both instances (each remembers both queries).
  for (const instance of [a, b, a, b]) {
    expectNoErrors(await gql(instance.url, AVAILABILITY, vars));
    expectNoErrors(await gql(instance.url, HOSPITAL));
  }
  expect((await gql(a.url, AVAILABILITY, vars)).headers.get("x-cache")).toBe("HIT");
  const before = unitsOf(expectNoErrors(await gql(a.url, AVAILABILITY, vars)));

  const write = expectNoErrors(await gql(b.url, ADJUST(5), undefined, { token: tokens.staff }));
  expect(write.adjustInventory.units).toBe(before + 5);

  // No reader asks meanwhile: both responses are recomputed by the instances themselves.
  await waitFor(async () => (await refreshedOn(a)) + (await refreshedOn(b)) >= 2, "two refreshes");
  // Each dropped response once, by one instance (a lease per response), not once per instance.
  await new Promise((r) => setTimeout(r, 300));
  expect((await refreshedOn(a)) + (await refreshedOn(b))).toBe(2);

  for (const instance of [a, b]) {
    const availability = await gql(instance.url, AVAILABILITY, vars);
    expect(availability.headers.get("x-cache")).toBe("HIT");
    expect(unitsOf(expectNoErrors(availability))).toBe(before + 5);
    const hospital = await gql(instance.url, HOSPITAL);
    expect(hospital.headers.get("x-cache")).toBe("HIT");
    const row = expectNoErrors(hospital).hospital.inventory.find((i: { bloodGroup: string }) => i.bloodGroup === "B_NEG");
    expect(row.units).toBe(before + 5);
  }
});

test("a response not read lately is left to its next reader; CACHE_REFRESH=0 refreshes nothing", async () => {
  const env = { CACHE_PREFIX: uniqueCachePrefix() };
  const off = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { ...env, CACHE_REFRESH: "0" } });
  const tokens = await demoTokens(off.url);
  const vars = { group: "A_NEG" };
  for (let i = 0; i < 3; i++) expectNoErrors(await gql(off.url, AVAILABILITY, vars));
  expectNoErrors(
    await gql(off.url, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: A_NEG, delta: 1) { units } }', undefined, { token: tokens.staff }),
  );
  await new Promise((r) => setTimeout(r, 300));
  expect(await refreshedOn(off)).toBe(0);
  const next = await gql(off.url, AVAILABILITY, vars);
  expect(next.headers.get("x-cache")).toBe("MISS");
});

test("a miss assembled from cached entries alone says so: Server-Timing sql;desc=\"0\"", async () => {
  const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_REFRESH: "0" };
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
  // Two documents reading the same entity: the second misses the response cache but not the entity cache.
  const first = await gql(a.url, 'query { donor(id: "3") { id name } }');
  expect(first.headers.get("server-timing")).toMatch(/^sql;desc="[1-9]\d*"$/);
  const second = await gql(a.url, 'query Other { donor(id: "3") { name id } }');
  expect(second.headers.get("x-cache")).toBe("MISS");
  expect(second.headers.get("server-timing")).toBe('sql;desc="0"');
  expect(expectNoErrors(second).donor.id).toBe("3");
  // A mutation's own statements are not cache reads: it says nothing rather than a wrong 0.
  const { staff } = await demoTokens(a.url);
  const write = await gql(a.url, 'mutation { updateDonor(id: "3", input: { city: "Timington" }) { id } }', undefined, { token: staff });
  expectNoErrors(write);
  expect(write.headers.get("server-timing")).toBeNull();
});
