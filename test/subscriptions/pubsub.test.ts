// The PubSub contract against both engines, plus what only Redis can do wrong: lose Pub/Sub
// messages while the subscriber connection is down. And the coalescing snapshot feed.
import { createMemoryPubSub } from '../../src/pubsub/memory.js';
import type { PubSub } from '../../src/pubsub/pubsub.js';
import { createRedisPubSub, type RedisPubSub } from '../../src/pubsub/redis.js';
import { createSnapshotFeed } from '../../src/pubsub/snapshot-feed.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedisClient, type RedisClient } from '../../src/redis/client.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { pubsubContract } from './pubsub.contract.js';

const logger = createLogger('silent');

pubsubContract('in-process', () => {
  // One process, one engine: make() hands out the same engine, as two "instances" would share it.
  let engine: PubSub | undefined;
  return {
    make: async (retention) => (engine ??= createMemoryPubSub({ logger, ...retention })),
    cleanup: async () => engine?.close(),
  };
});

function redisEngines() {
  const prefix = uniqueCachePrefix();
  const clients: RedisClient[] = [];
  const engines: RedisPubSub[] = [];
  return {
    prefix,
    clients,
    make: async (retention?: { maxEvents?: number; maxAgeMs?: number; checkIntervalMs?: number }) => {
      const publishClient = createRedisClient({ url: testRedisUrl(), name: 'publisher', logger });
      const subscribeClient = createRedisClient({ url: testRedisUrl(), name: 'subscriber', logger, failFast: false });
      clients.push(publishClient, subscribeClient);
      const engine = createRedisPubSub({ publishClient, subscribeClient, prefix, logger, ...retention });
      engines.push(engine);
      await engine.ready();
      return engine;
    },
    cleanup: async () => {
      await Promise.all(engines.map((e) => e.close()));
      for (const c of clients) c.disconnect();
    },
  };
}

pubsubContract('Redis', redisEngines);

/** An inventoryChanged payload whose units number the event. */
const item = (units: number) => ({
  item: { hospitalId: 1, bloodGroup: 'O_NEG' as const, units, updatedAt: new Date() },
  hospital: { id: 1, name: 'H', region: 'North', city: 'C' },
});

/** The units of the inventoryChanged events `sub` receives; `all` resolves once `count` arrived. */
function collectUnits(sub: PubSub, count: number): { got: number[]; all: Promise<void> } {
  const got: number[] = [];
  const all = new Promise<void>((resolve) =>
    sub.listen('inventoryChanged', (e) => {
      got.push(e.payload.item.units);
      if (got.length === count) resolve();
    }),
  );
  return { got, all };
}

test('Redis: events published while the subscriber connection is down arrive once, in order, after it reconnects', async () => {
  const f = redisEngines();
  try {
    const [pub, sub] = [await f.make(), await f.make()];
    const { got, all } = collectUnits(sub, 30);
    for (let i = 1; i <= 10; i++) await pub.publish('inventoryChanged', item(i));
    // Drop the subscriber's connection (it reconnects by itself) and publish meanwhile.
    const subscribeClient = f.clients[3]!;
    const reconnected = new Promise<void>((resolve) => subscribeClient.once('ready', () => resolve()));
    subscribeClient.disconnect(true);
    for (let i = 11; i <= 20; i++) await pub.publish('inventoryChanged', item(i));
    await reconnected;
    for (let i = 21; i <= 30; i++) await pub.publish('inventoryChanged', item(i));
    await all;
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  } finally {
    await f.cleanup();
  }
});

test('Redis: events a subscriber missed without any disconnection being reported (a cluster subscriber moving node) arrive once, in order, with the next event', async () => {
  const f = redisEngines();
  try {
    const [pub, sub] = [await f.make(), await f.make()];
    const { got, all } = collectUnits(sub, 20);
    for (let i = 1; i <= 5; i++) await pub.publish('inventoryChanged', item(i));
    // The connection stays up and says nothing: its subscription simply misses 6-10.
    const subscribeClient = f.clients[3]!;
    const channel = `${f.prefix}events:inventoryChanged`;
    await subscribeClient.unsubscribe(channel);
    for (let i = 6; i <= 10; i++) await pub.publish('inventoryChanged', item(i));
    // On a cluster PUBLISH reaches the subscriber's node over the cluster bus, asynchronously:
    // let 6-10 get there (and be dropped) before subscribing again.
    await new Promise((r) => setTimeout(r, 300));
    await subscribeClient.subscribe(channel);
    expect(sub.gapsDetected()).toBe(0);
    for (let i = 11; i <= 20; i++) await pub.publish('inventoryChanged', item(i));
    await all;
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(sub.gapsDetected()).toBe(1);
    expect(sub.stats().gapsRecovered).toBe(1); // what /metrics reports (lifeline_pubsub_gaps_recovered_total)
  } finally {
    await f.cleanup();
  }
});

test('Redis: the last event before a quiet spell, missed the same silent way, arrives by the periodic stream check', async () => {
  const f = redisEngines();
  try {
    const [pub, sub] = [await f.make({ checkIntervalMs: 200 }), await f.make({ checkIntervalMs: 200 })];
    const got: number[] = [];
    const first = new Promise<void>((resolve) => sub.listen('inventoryChanged', (e) => (got.push(e.payload.item.units), resolve())));
    await pub.publish('inventoryChanged', item(1));
    await first;
    const subscribeClient = f.clients[3]!;
    const channel = `${f.prefix}events:inventoryChanged`;
    await subscribeClient.unsubscribe(channel);
    await pub.publish('inventoryChanged', item(2));
    await new Promise((r) => setTimeout(r, 300)); // past the cluster bus (see the test above)
    await subscribeClient.subscribe(channel);
    const deadline = Date.now() + 5_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([1, 2]);
    expect(sub.gapsDetected()).toBe(1);
  } finally {
    await f.cleanup();
  }
});

test('snapshot feed: a burst of events gives few pushes, computed once each for all subscribers, the last one after the last event', async () => {
  const ps = createMemoryPubSub({ logger });
  let state = 0;
  let computations = 0;
  const feed = createSnapshotFeed({
    pubsub: ps,
    topic: 'dashboardStatsUpdated',
    intervalMs: 50,
    logger,
    compute: async () => {
      computations++;
      return { state };
    },
  });
  const subs = await Promise.all([feed.subscribe({}), feed.subscribe({})]);
  const started = Date.now();
  for (let i = 1; i <= 200; i++) {
    state = i;
    await ps.publish('dashboardStatsUpdated', {});
    if (i % 20 === 0) await new Promise((r) => setTimeout(r, 10)); // a burst spread over ~100 ms
  }
  const elapsed = Date.now() - started;
  // Each subscriber's latest value becomes the final state; intermediate ones may be skipped.
  const seen = await Promise.all(
    subs.map(async (s) => {
      const values = [];
      for (;;) {
        const { value } = await s.next();
        values.push(value!);
        if (value!.payload.state === 200) return values;
      }
    }),
  );
  expect(computations).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 2);
  expect(seen[0]!.at(-1)).toBe(seen[1]!.at(-1)); // one computation, the same object for both
  expect(feed.stats()).toEqual({ subscribers: 2, computations });
  await Promise.all(subs.map((s) => s.return!()));
  expect(feed.stats().subscribers).toBe(0);
  expect(ps.stats().listeners).toBe(0);
  feed.close();
  await ps.close();
});
