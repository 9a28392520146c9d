// Partial reuse, as a user sees it: a stock change that leaves an item in the same lists drops the
// responses that show it, but not the lists' membership, and the write stores the item's new
// value as its entry; so the next read of those lists is rebuilt without PostgreSQL
// (`Server-Timing: sql;desc="0"`), in the declared order, identical to what the database says.
// A change that makes an item leave a list (stock to zero) still moves that list.
import { startInstance, type Instance } from "../helpers/app.js";
import { demoTokens, useSeededDatabase } from "../helpers/fixtures.js";
import { expectNoErrors, gql } from "../helpers/graphql.js";
import { testRedisUrl, uniqueCachePrefix } from "../helpers/redis.js";

const db = useSeededDatabase({ donors: 40, hospitals: 8, donations: 100, campaigns: 2, requests: 6, seed: 41 });

const AVAILABILITY = "query A($g: BloodGroup!) { availability(bloodGroup: $g) { units hospital { id name } } }";
const HOSPITAL = "query H($id: ID!) { hospital(id: $id) { id inventory { bloodGroup units } } }";
const DONOR = "query D($id: ID!) { donor(id: $id) { id name city bloodGroup } }";

type Row = { units: number; hospital: { id: string; name: string } };
let cached: Instance;
let truth: Instance; // CACHE_MODE=off on the same database: what PostgreSQL says
let staff: string;

beforeAll(async () => {
  // Reads are watched right after the write: no refresh recomputes the response first.
  cached = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: uniqueCachePrefix(), CACHE_REFRESH: "0" } });
  truth = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: uniqueCachePrefix(), CACHE_MODE: "off" } });
  staff = (await demoTokens(cached.url)).staff;
});

const adjust = async (hospitalId: string, group: string, delta: number) =>
  expectNoErrors(
    await gql(cached.url, `mutation { adjustInventory(hospitalId: "${hospitalId}", bloodGroup: ${group}, delta: ${delta}) { units } }`, undefined, { token: staff }),
  ).adjustInventory.units as number;

test("a stock change keeps the lists' membership: availability and Hospital.inventory are rebuilt without PostgreSQL, ordered, equal to the database", async () => {
  const vars = { g: "O_POS" };
  const first = expectNoErrors(await gql(cached.url, AVAILABILITY, vars)).availability as Row[];
  expect(first.length).toBeGreaterThan(2);
  // The last listed (fewest units): enough added to move it to the top, so the order must change.
  const target = first[first.length - 1]!;
  expectNoErrors(await gql(cached.url, HOSPITAL, { id: target.hospital.id }));

  const units = await adjust(target.hospital.id, "O_POS", first[0]!.units + 5);

  const after = await gql(cached.url, AVAILABILITY, vars);
  expect(after.headers.get("x-cache")).toBe("MISS"); // the response showed the item: dropped
  expect(after.headers.get("server-timing")).toBe('sql;desc="0"'); // membership kept, the item written through
  const rows = expectNoErrors(after).availability as Row[];
  expect(rows[0]).toEqual({ ...target, units });
  expect(rows).toEqual(expectNoErrors(await gql(truth.url, AVAILABILITY, vars)).availability);

  const hospital = await gql(cached.url, HOSPITAL, { id: target.hospital.id });
  expect(hospital.headers.get("server-timing")).toBe('sql;desc="0"');
  expect(expectNoErrors(hospital)).toEqual(expectNoErrors(await gql(truth.url, HOSPITAL, { id: target.hospital.id })));
});

test("a change that takes an item out of a list moves the list: the next read asks PostgreSQL and no longer shows it", async () => {
  const vars = { g: "A_NEG" };
  const first = expectNoErrors(await gql(cached.url, AVAILABILITY, vars)).availability as Row[];
  const gone = first[0]!;
  expect(await adjust(gone.hospital.id, "A_NEG", -gone.units)).toBe(0);
  const after = await gql(cached.url, AVAILABILITY, vars);
  expect(after.headers.get("server-timing")).not.toBe('sql;desc="0"');
  const rows = expectNoErrors(after).availability as Row[];
  expect(rows.map((r) => r.hospital.id)).not.toContain(gone.hospital.id);
  expect(rows).toEqual(expectNoErrors(await gql(truth.url, AVAILABILITY, vars)).availability);
  // And back in: the item enters again.
  await adjust(gone.hospital.id, "A_NEG", 2);
  const back = expectNoErrors(await gql(cached.url, AVAILABILITY, vars)).availability as Row[];
  expect(back).toEqual(expectNoErrors(await gql(truth.url, AVAILABILITY, vars)).availability);
  expect(back.map((r) => r.hospital.id)).toContain(gone.hospital.id);
});

test("updateDonor writes the donor's new profile through: the next read of it needs no database and equals it", async () => {
  expectNoErrors(await gql(cached.url, DONOR, { id: "5" }));
  expectNoErrors(
    await gql(cached.url, 'mutation { updateDonor(id: "5", input: { city: "Partialton" }) { id city } }', undefined, { token: staff }),
  );
  const other = 'query Other($id: ID!) { donor(id: $id) { bloodGroup city name id } }';
  const after = await gql(cached.url, other, { id: "5" });
  expect(after.headers.get("server-timing")).toBe('sql;desc="0"');
  expect(expectNoErrors(after)).toEqual(expectNoErrors(await gql(truth.url, other, { id: "5" })));
  expect(expectNoErrors(after).donor.city).toBe("Partialton");
});
