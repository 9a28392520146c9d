// Warming after an epoch move, as a user sees it: after purgeCache(type: "*") the queries that were
// hot are HITs again without any client asking for them, one instance did the refilling, and a
// write committed between the purge and the refill shows in the refilled entries.
import { startInstance, type Instance } from "../helpers/app.js";
import { demoTokens, useSeededDatabase } from "../helpers/fixtures.js";
import { expectNoErrors, gql } from "../helpers/graphql.js";
import { scrape, sum } from "../helpers/metrics.js";
import {
  startPrivateRedis,
  testRedisUrl,
  uniqueCachePrefix,
} from "../helpers/redis.js";

const db = useSeededDatabase({
  donors: 60,
  hospitals: 6,
  donations: 200,
  campaigns: 3,
  requests: 10,
  seed: 23,
});

const AVAILABILITY =
  "query Availability($group: BloodGroup!) { availability(bloodGroup: $group) { units hospital { id } } }";
const HOT: {
  query: string;
  variables?: Record<string, unknown>;
  method?: "GET" | "POST";
}[] = [
  { query: AVAILABILITY, variables: { group: "AB_NEG" } },
  { query: AVAILABILITY, variables: { group: "O_POS" }, method: "GET" },
  { query: "{ donors(first: 10) { nodes { id name } } }" },
];

const warmedOn = async (instance: Instance) =>
  sum((await scrape(instance)).samples, "lifeline_cache_warmed_total");
const ask = (instance: Instance, h: (typeof HOT)[number]) =>
  gql(instance.url, h.query, h.variables, { method: h.method });
const unitsAt = (
  body: { availability: { units: number; hospital: { id: string } }[] },
  hospitalId: string,
) => body.availability.find((row) => row.hospital.id === hospitalId)!.units;

test('after purgeCache(type: "*") the hot public queries are refilled by one instance, with a write made meanwhile', async () => {
  const env = { CACHE_PREFIX: uniqueCachePrefix() };
  // The refill waits 1.5 s after the epoch moves: long enough for this test to commit a write first.
  const appOptions = { warm: { startDelayMs: 1_500 } };
  const a = await startInstance({
    databaseUrl: db().url,
    redisUrl: testRedisUrl(),
    env,
    appOptions,
  });
  const b = await startInstance({
    databaseUrl: db().url,
    redisUrl: testRedisUrl(),
    env,
    appOptions,
  });
  const tokens = await demoTokens(a.url);

  // Hot on both instances: each served every query from or into the cache.
  for (const h of HOT) {
    for (const instance of [a, b, a, b]) expectNoErrors(await ask(instance, h));
    expect((await ask(b, h)).headers.get("x-cache")).toBe("HIT");
  }
  // A signed-in reader's query (its token is never remembered, nor replayed).
  expectNoErrors(
    await gql(a.url, "{ hospitals { id } }", undefined, {
      token: tokens.staff,
    }),
  );
  const before = unitsAt(expectNoErrors(await ask(a, HOT[0]!)), "1");

  expectNoErrors(
    await gql(a.url, 'mutation { purgeCache(type: "*") }', undefined, {
      token: tokens.admin,
    }),
  );
  // b learns of the new epoch from a read that is not one of the hot queries (so it refills none of them itself).
  expect((await gql(b.url, "{ __typename }")).status).toBe(200);
  // A write between the purge and the refill: the refilled entry must show it.
  expectNoErrors(
    await gql(
      b.url,
      'mutation { adjustInventory(hospitalId: "1", bloodGroup: AB_NEG, delta: 7) { units } }',
      undefined,
      { token: tokens.staff },
    ),
  );

  // Waits (bounded) watching /metrics only: no client asks for the hot queries meanwhile.
  let warmed = [0, 0];
  for (let i = 0; i < 100 && warmed[0]! + warmed[1]! < HOT.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    warmed = [await warmedOn(a), await warmedOn(b)];
  }
  expect(warmed[0]! + warmed[1]!).toBe(HOT.length);
  // One instance refilled the epoch; the other held back (a lease per epoch).
  expect(warmed.filter((n) => n === 0)).toHaveLength(1);

  for (const h of HOT) {
    for (const instance of [a, b]) {
      const res = await ask(instance, h);
      expect(res.headers.get("x-cache")).toBe("HIT");
    }
  }
  // Never a stale entry: the refilled availability shows the write made after the purge.
  expect(unitsAt(expectNoErrors(await ask(b, HOT[0]!)), "1")).toBe(before + 7);
  // Nothing more is refilled later (the lease holds for the epoch).
  await new Promise((r) => setTimeout(r, 500));
  expect((await warmedOn(a)) + (await warmedOn(b))).toBe(HOT.length);
});

test("after Redis restarts empty (the cache moves to a new epoch) the hot public queries are refilled", async () => {
  // This file's own redis-server: restarted by the test, never the shared one.
  const redis = await startPrivateRedis();
  const env = { CACHE_PREFIX: uniqueCachePrefix() };
  const a = await startInstance({
    databaseUrl: db().url,
    redisUrl: redis.url,
    env,
  });
  const b = await startInstance({
    databaseUrl: db().url,
    redisUrl: redis.url,
    env,
  });
  // Instances stop before their Redis does, pass or fail (otherwise their reconnecting clients keep jest alive).
  try {
    for (const h of HOT) {
      for (const instance of [a, b, a, b])
        expectNoErrors(await ask(instance, h));
      expect((await ask(b, h)).headers.get("x-cache")).toBe("HIT");
    }
    await redis.restart(); // SIGKILL, then an empty server on the same port: a new run_id

    // Waits (bounded) watching /metrics only, then for the instances to settle on one epoch.
    let warmed = 0;
    for (let i = 0; i < 150 && warmed < HOT.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      warmed = (await warmedOn(a)) + (await warmedOn(b));
    }
    expect(warmed).toBeGreaterThanOrEqual(HOT.length);
    // Both instances may each move to the new epoch and start a refill: let any replay still in
    // flight finish (bounded), or a query asked meanwhile waits for it (a collapsed MISS).
    for (let i = 0, still = 0; i < 30 && still < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = (await warmedOn(a)) + (await warmedOn(b));
      still = now === warmed ? still + 1 : 0;
      warmed = now;
    }
    for (const h of HOT) {
      for (const instance of [a, b])
        expect((await ask(instance, h)).headers.get("x-cache")).toBe("HIT");
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await redis.stop();
  }
}, 30_000);
