// dashboardStatsUpdated is coalesced: a burst of 1,000 donations over two instances gives each
// instance at most one push per 250 ms, computed once per push for all of its subscribers, and
// the last push carries the final totals.
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { eventually, subscribe, type LiveSubscription } from './helpers.js';

// No seeded donations: every donor is eligible, so 1,000 of them can each give once.
const db = useSeededDatabase({ donors: 1010, hospitals: 8, donations: 0, campaigns: 0, requests: 10, seed: 11 });
let a: Instance;
let b: Instance;
let staff: string;

beforeAll(async () => {
  const env = { CACHE_PREFIX: uniqueCachePrefix() };
  [a, b] = await Promise.all([0, 1].map(() => startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env })));
  staff = (await demoTokens(a.url)).staff;
});

type Stats = { dashboardStatsUpdated: { totalUnitsCollected: number; generatedAt: string } };
const DASHBOARD = 'subscription { dashboardStatsUpdated { totalUnitsCollected generatedAt } }';

test('a burst of 1,000 donations: at most one push per 250 ms per instance, one computation per push, final totals last', async () => {
  const computedSql = new Map<Instance, number>([
    [a, 0],
    [b, 0],
  ]);
  for (const i of [a, b]) i.app.database.onStatement((text) => text.includes('"totalUnitsCollected"') && computedSql.set(i, computedSql.get(i)! + 1));
  const subs = new Map<Instance, LiveSubscription<Stats>[]>([
    [a, [subscribe<Stats>(a, DASHBOARD), subscribe<Stats>(a, DASHBOARD)]],
    [b, [subscribe<Stats>(b, DASHBOARD), subscribe<Stats>(b, DASHBOARD)]],
  ]);
  await eventually('4 dashboard subscribers', () => a.app.liveStats().dashboard.subscribers === 2 && b.app.liveStats().dashboard.subscribers === 2);

  const started = Date.now();
  let next = 1;
  const worker = async (w: number) => {
    for (let donor = next++; donor <= 1000; donor = next++) {
      const res = await gql(w % 2 ? a.url : b.url, `mutation { recordDonation(input: { donorId: "${donor}", hospitalId: "${1 + (donor % 8)}" }) { id } }`, undefined, { token: staff });
      if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    }
  };
  await Promise.all(Array.from({ length: 24 }, (_, w) => worker(w)));
  const burstMs = Date.now() - started;
  const [{ total }] = await query<{ total: number }>(db().url, 'SELECT sum(units)::int AS total FROM donations');
  expect(total).toBe(1000);

  for (const instance of [a, b]) {
    const [one, two] = subs.get(instance)!;
    // The last push of every subscriber shows the final totals.
    await Promise.all([one!, two!].map((s) => s.receivedWhere((d) => d.dashboardStatsUpdated.totalUnitsCollected === total)));
    const pushes = one!.events.map((e) => e.data.dashboardStatsUpdated);
    // Bounded: one push per 250 ms at most (leading edge + trailing edge).
    expect(pushes.length).toBeLessThanOrEqual(Math.ceil(burstMs / 250) + 2);
    // Computations start at least 250 ms apart; generatedAt is stamped after the query, whose
    // duration varies, so two stamps can be a few ms closer than that (CI saw 248).
    const times = pushes.map((p) => Date.parse(p.generatedAt));
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(225);
    // Computed once per push, not per subscriber: both subscribers got the same snapshots,
    // and the instance ran the dashboard query once per push.
    expect(two!.events.map((e) => e.data.dashboardStatsUpdated.generatedAt)).toEqual(pushes.map((p) => p.generatedAt));
    expect(computedSql.get(instance)).toBe(instance.app.liveStats().dashboard.computations);
    expect(instance.app.liveStats().dashboard.computations).toBe(pushes.length);
    // Resuming with the last push's id while nothing changed gives nothing; the ids advance.
    expect(new Set(one!.events.map((e) => e.eventId)).size).toBe(pushes.length);
  }
  console.log(`burst ${burstMs} ms: pushes per instance ${[a, b].map((i) => i.app.liveStats().dashboard.computations).join(', ')}`);
}, 180_000);
