// 1,000 concurrent subscribers over two instances (real graphql-ws clients): every one gets
// every event, once, in order, within a bounded time; closing them leaves nothing behind.
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { eventually, operationsOpen, subscribe, type LiveSubscription } from './helpers.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;
let staff: string;
const SUBSCRIBERS = 1000;
const EVENTS = 5;

beforeAll(async () => {
  const env = { CACHE_PREFIX: uniqueCachePrefix() };
  [a, b] = await Promise.all([0, 1].map(() => startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env })));
  staff = (await demoTokens(a.url)).staff;
});

type Event = { inventoryChanged: { units: number; hospital: { name: string } } };

test(`${SUBSCRIBERS} subscribers over two instances each receive all ${EVENTS} events once, in order`, async () => {
  const started = Date.now();
  const subs: LiveSubscription<Event>[] = [];
  // Connect in batches: a burst of 1,000 SYNs would overflow the listen backlog.
  for (let i = 0; i < SUBSCRIBERS; i += 100) {
    const batch = Array.from({ length: 100 }, (_, j) =>
      subscribe<Event>(i + j < SUBSCRIBERS / 2 ? a : b, 'subscription { inventoryChanged(bloodGroup: O_POS) { units hospital { name } } }'),
    );
    await Promise.all(batch.map((s) => s.connected));
    subs.push(...batch);
  }
  await Promise.all([operationsOpen(a, SUBSCRIBERS / 2), operationsOpen(b, SUBSCRIBERS / 2)]);
  const subscribedMs = Date.now() - started;

  const acked: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const data = expectNoErrors(
      await gql(i % 2 ? a.url : b.url, `mutation { adjustInventory(hospitalId: "${1 + i}", bloodGroup: O_POS, delta: 1) { units } }`, undefined, { token: staff }),
    );
    acked.push(data.adjustInventory.units);
  }
  const all = await Promise.all(subs.map((s) => s.received(EVENTS, 20_000)));
  const deliveredMs = Date.now() - started - subscribedMs;
  const ids = all[0]!.map((e) => e.eventId);
  for (const got of all) {
    expect(got.map((e) => e.data.inventoryChanged.units)).toEqual(acked);
    expect(got.map((e) => e.eventId)).toEqual(ids);
  }
  expect(subs.every((s) => s.events.length === EVENTS)).toBe(true);

  await Promise.all(subs.map((s) => s.dispose()));
  await eventually('every subscription released', () =>
    // One listener stays per instance: the WebSocket layer's own, for session revocations.
    [a, b].every((i) => i.app.liveStats().ws.operations === 0 && i.app.liveStats().pubsub.listeners === 1),
  );
  console.log(`${SUBSCRIBERS} subscribed in ${subscribedMs} ms; ${EVENTS} writes delivered to all in ${deliveredMs} ms`);
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);
