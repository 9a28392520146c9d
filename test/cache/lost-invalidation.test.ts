// CACHE-CONSISTENCY case 6: an invalidation that could not reach Redis, and a Redis that
// restarts from an older snapshot (resurrecting deleted entries), must never lead to a
// stale read once Redis is back. Uses this file's own redis-server, never the shared one.
import { Redis } from 'ioredis';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { startPrivateRedis, uniqueCachePrefix, type PrivateRedis } from '../helpers/redis.js';

const db = useSeededDatabase();
let redis: PrivateRedis;
let a: Instance;
let b: Instance;
let staff: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_TIMEOUT_MS: '250' };
  a = await startInstance({ databaseUrl: db().url, redisUrl: redis.url, env });
  b = await startInstance({ databaseUrl: db().url, redisUrl: redis.url, env });
  staff = (await demoTokens(a.url)).staff;
});

const read = (url: string, id: string) => gql(url, `{ donor(id: "${id}") { id city } }`);
const setCity = (url: string, id: string, city: string) =>
  gql(url, 'mutation($id: ID!, $c: String!) { updateDonor(id: $id, input: { city: $c }) { city } }', { id, c: city }, { token: staff });

async function warm(id: string) {
  await read(b.url, id);
  expect((await read(b.url, id)).headers.get('x-cache')).toBe('HIT');
}

/** Polls until the instance serves from the cache again (bounded). */
async function untilCached(url: string, id: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await read(url, id)).headers.get('x-cache') === 'HIT') return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the cache did not come back within the bound');
}

test('Redis hung during a mutation: the mutation succeeds within the bound and nothing stale is served after', async () => {
  await warm('20');
  redis.pause();
  try {
    // Each Redis call is bounded (500 ms per command, 250 ms per cache call): the mutation makes a few
    // in sequence (session check, invalidation, publish). The bounds leave room for a loaded machine.
    let started = Date.now();
    const res = await setCity(a.url, '20', 'DuringOutage');
    expect(expectNoErrors(res).updateDonor.city).toBe('DuringOutage');
    expect(Date.now() - started).toBeLessThan(4_000);
    // Reads keep working from PostgreSQL meanwhile, also bounded.
    started = Date.now();
    const during = await read(b.url, '20');
    expect(during.body.data.donor.city).toBe('DuringOutage');
    expect(Date.now() - started).toBeLessThan(2_000);
    const ready = await fetch(`${a.url}/ready`);
    expect(ready.status).toBe(503);
  } finally {
    redis.resume();
  }
  for (const url of [a.url, b.url]) expect((await read(url, '20')).body.data.donor.city).toBe('DuringOutage');
  await untilCached(b.url, '20');
  expect((await read(b.url, '20')).body.data.donor.city).toBe('DuringOutage');
}, 30_000);

test('Redis restarted from an older snapshot: resurrected entries are never served', async () => {
  await warm('21');
  const before = (await read(b.url, '21')).body.data.donor.city;
  // Snapshot while the old value is cached, then change it (the invalidation deletes it) ...
  const admin = new Redis(redis.url);
  await admin.save();
  await admin.quit();
  expectNoErrors(await setCity(a.url, '21', 'AfterSnapshot'));
  expect((await read(b.url, '21')).body.data.donor.city).toBe('AfterSnapshot');
  // ... and bring Redis back from that snapshot: the deleted entry is there again.
  await redis.restart();
  const check = new Redis(redis.url);
  const resurrected = (await check.keys('*Donor:21')).length;
  await check.quit();
  expect(resurrected).toBeGreaterThan(0);
  expect(before).not.toBe('AfterSnapshot');
  for (let i = 0; i < 20; i++) {
    for (const url of [a.url, b.url]) expect((await read(url, '21')).body.data.donor.city).toBe('AfterSnapshot');
  }
  await untilCached(b.url, '21');
  expect((await read(a.url, '21')).body.data.donor.city).toBe('AfterSnapshot');
}, 30_000);
