// Redis goes away and comes back (a fresh, empty server): writes keep succeeding meanwhile (their
// events are lost and logged: the commit stands), and live delivery resumes by itself, with
// no resubscription by the client.
import { startInstance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { gql } from '../helpers/graphql.js';
import { startPrivateRedis } from '../helpers/redis.js';
import { operationsOpen, subscribe } from './helpers.js';

const db = useSeededDatabase();

test('with Redis down mutations still succeed; after it restarts, subscribers receive new events again', async () => {
  const redis = await startPrivateRedis();
  const instance = await startInstance({ databaseUrl: db().url, redisUrl: redis.url });
  const { staff } = await demoTokens(instance.url);
  const adjust = () => gql(instance.url, 'mutation { adjustInventory(hospitalId: "3", bloodGroup: A_NEG, delta: 1) { units } }', undefined, { token: staff });
  const sub = subscribe(instance, 'subscription { inventoryChanged(bloodGroup: A_NEG) { units } }');
  await operationsOpen(instance, 1);
  expect((await adjust()).body.errors).toBeUndefined();
  await sub.received(1);

  await redis.kill();
  const started = Date.now();
  const during = await adjust();
  expect(during.body.errors).toBeUndefined();
  expect(Date.now() - started).toBeLessThan(3000);

  await redis.restart();
  // The publisher reconnects with backoff; until then a write's event is lost (logged). Keep
  // writing until one gets through: the subscriber, still on the same socket, receives it.
  const acked: number[] = [];
  while (sub.events.length < 2) {
    const res = await adjust();
    expect(res.body.errors).toBeUndefined();
    acked.push(res.body.data.adjustInventory.units);
    await Promise.race([sub.received(2, 60_000), new Promise((r) => setTimeout(r, 100))]);
  }
  expect(acked).toContain(sub.events[1]!.data.inventoryChanged.units);
  await sub.dispose();
}, 30_000);
