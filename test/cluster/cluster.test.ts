// What only a Redis Cluster can get wrong (issue 7, SPEC §3): keys that straddle slots, a
// dataset identity asked of the wrong node, events that must cross from one node to another,
// and a restart of the one master that holds the cache. Runs in the `cluster` project only
// (jest.config.js), next to the cache and subscription suites run again on the same cluster
// (there, e.g., races.test.ts "L1 hygiene" shows the L1 drop message crossing the cluster).
import { Cluster } from 'ioredis';
import { createKeyspace } from '../../src/cache/keys.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scanKeys, testRedisClient, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { startRedisCluster, type TestCluster } from '../setup/global-setup.js';
import { eventually, operationsOpen, subscribe } from '../subscriptions/helpers.js';

const db = useSeededDatabase();
const redis = testRedisClient() as Cluster;
afterAll(() => redis.quit());

const nodeKey = (n: { options: { host?: string; port?: number } }) => `${n.options.host}:${n.options.port}`;

/** The master serving `key`'s slot, asked of the cluster itself (not of the client's slot map). */
async function ownerOf(client: Cluster, key: string): Promise<string> {
  const slot = Number(await client.cluster('KEYSLOT', key));
  const slots = (await client.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  const range = slots.find(([from, to]) => slot >= from && slot <= to)!;
  return `${range[2][0]}:${range[2][1]}`;
}

const runIdOf = async (client: Cluster, node: string) =>
  /run_id:(\w+)/.exec(await client.nodes('master').find((n) => nodeKey(n) === node)!.info('server'))![1];

test('the run-wide Redis of this project is a three-master cluster', async () => {
  expect(redis).toBeInstanceOf(Cluster);
  await eventually('cluster client ready', () => redis.status === 'ready');
  expect(redis.nodes('master')).toHaveLength(3);
  expect(await redis.cluster('INFO')).toContain('cluster_state:ok');
});

test('every cache key lives in one slot, on one master; event streams and sessions live elsewhere, spread by their own keys', async () => {
  const prefix = uniqueCachePrefix();
  // No refresh after the write: its replays would add keys between the two scans below.
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: prefix, CACHE_REFRESH: '0' } });
  const { staff, admin } = await demoTokens(a.url);
  // Entities, lists, whole responses (public and private), an invalidation, a purge, a lease.
  for (const q of ['{ hospitals { id name } }', '{ donors(first: 5) { nodes { id name } } }', '{ hospital(id: "1") { id name } }']) {
    expectNoErrors(await gql(a.url, q));
    expectNoErrors(await gql(a.url, q, undefined, { token: staff }));
  }
  expectNoErrors(await gql(a.url, 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: 1) { units } }', undefined, { token: staff }));
  expectNoErrors(await gql(a.url, 'mutation { purgeCache(type: "Hospital", id: "2") }', undefined, { token: admin }));

  const keys = createKeyspace(prefix);
  const all = await scanKeys(redis, `${prefix}*`);
  const cacheKeys = all.filter((k) => k.startsWith(keys.base));
  expect(cacheKeys.length).toBeGreaterThan(10);
  expect(cacheKeys.some((k) => k.includes(':resp:public:'))).toBe(true);
  expect(cacheKeys.some((k) => k.includes(':idx:'))).toBe(true);
  expect(cacheKeys.some((k) => k.includes(':vb:'))).toBe(true);
  // Whatever is not a cache key is a session, a rate-limit counter or an event stream.
  expect(all.filter((k) => !k.startsWith(keys.base)).every((k) => /^[^:]+:(auth:|rl:|\{events:)/.test(k))).toBe(true);

  const slots = new Set(await Promise.all(cacheKeys.map(async (k) => Number(await redis.cluster('KEYSLOT', k)))));
  expect(slots.size).toBe(1);
  const owner = await ownerOf(redis, keys.meta);
  for (const node of redis.nodes('master')) {
    const here = await scanKeys(node, `${keys.base}*`);
    expect(here.length).toBe(nodeKey(node) === owner ? cacheKeys.length : 0);
  }
  // The five topics' streams are not tied to the cache's slot (nor to one another).
  const streamSlots = new Set(await Promise.all(all.filter((k) => k.includes('{events:')).map(async (k) => Number(await redis.cluster('KEYSLOT', k)))));
  expect(streamSlots.has([...slots][0]!)).toBe(false);
});

test("the cache's dataset identity is the run_id of the master owning its slot, not of whichever node answers", async () => {
  const keys = createKeyspace(uniqueCachePrefix());
  const store = createRedisStore(redis, keys);
  const owner = await ownerOf(redis, keys.meta);
  const ids = await Promise.all(redis.nodes('master').map((n) => runIdOf(redis, nodeKey(n))));
  expect(new Set(ids).size).toBe(3);
  for (let i = 0; i < 5; i++) expect(await store.identity()).toBe(await runIdOf(redis, owner));
});

describe('two instances on the cluster', () => {
  let a: Instance;
  let b: Instance;
  let staff: string;
  beforeAll(async () => {
    const env = { CACHE_PREFIX: uniqueCachePrefix() };
    a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env });
    // B is given one seed node and REDIS_CLUSTER=1 (the other way SPEC §3 selects a cluster); it finds the rest.
    b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl().split(',')[2]!, env: { ...env, REDIS_CLUSTER: '1' } });
    staff = (await demoTokens(a.url)).staff;
  });

  test('an invalidation on one instance is seen by the next read on the other (entity, list and response caches)', async () => {
    const q = '{ hospital(id: "3") { id inventory { bloodGroup units } } }';
    const units = (res: Awaited<ReturnType<typeof gql>>) =>
      ((expectNoErrors(res) as { hospital: { inventory: unknown } }).hospital.inventory as { bloodGroup: string; units: number }[]).find((i) => i.bloodGroup === 'B_POS')!.units;
    const before = units(await gql(a.url, q));
    const hit = await gql(b.url, q);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(units(hit)).toBe(before);
    const mutation = 'mutation { adjustInventory(hospitalId: "3", bloodGroup: B_POS, delta: 4) { units } }';
    expect(expectNoErrors(await gql(a.url, mutation, undefined, { token: staff })).adjustInventory.units).toBe(before + 4);
    expect(units(await gql(b.url, q))).toBe(before + 4);
    expect(units(await gql(a.url, q))).toBe(before + 4);
  });

  test('an event committed through one instance reaches a subscriber of the other, once, in order', async () => {
    const query = `subscription { inventoryChanged(bloodGroup: AB_NEG) { units hospital { id } } }`;
    const onB = subscribe<{ inventoryChanged: { units: number } }>(b, query);
    const onA = subscribe<{ inventoryChanged: { units: number } }>(a, query);
    await Promise.all([operationsOpen(b, 1), operationsOpen(a, 1)]);
    const acks: number[] = [];
    for (const [via, delta] of [[a, 2], [b, 1], [a, 3]] as const) {
      const res = await gql(via.url, `mutation { adjustInventory(hospitalId: "4", bloodGroup: AB_NEG, delta: ${delta}) { units } }`, undefined, { token: staff });
      acks.push(expectNoErrors(res).adjustInventory.units);
    }
    for (const sub of [onA, onB]) {
      const got = await sub.received(3);
      expect(got.map((e) => e.data.inventoryChanged.units)).toEqual(acks);
    }
    await Promise.all([onA.dispose(), onB.dispose()]);
  });
});

describe('a restart of the master that owns the cache slot', () => {
  let cluster: TestCluster;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  test('is noticed (new run_id): the cache moves to a new epoch, so nothing written before is read again', async () => {
    const prefix = uniqueCachePrefix();
    const keys = createKeyspace(prefix);
    const a = await startInstance({ databaseUrl: db().url, redisUrl: cluster.url, env: { CACHE_PREFIX: prefix } });
    const q = '{ hospital(id: "5") { id name } }';
    expectNoErrors(await gql(a.url, q));
    expect((await gql(a.url, q)).headers.get('x-cache')).toBe('HIT');
    const epochBefore = await client.hget(keys.meta, 'epoch');
    expect(epochBefore).toMatch(/^[0-9a-z]+$/);

    const owner = await ownerOf(client, keys.meta);
    const runIdBefore = await runIdOf(client, owner);
    await cluster.restart(Number(owner.split(':')[1]));
    // The restarted master came back empty: the clock and every tag version are gone, so
    // without the run_id check fences would compare against nothing. With it, the cache
    // suspends itself and resumes under a fresh epoch.
    const cache = a.app.services.cache!;
    const deadline = Date.now() + 20_000;
    let epoch: string | null = null;
    while (Date.now() < deadline) {
      epoch = await client.hget(keys.meta, 'epoch').catch(() => null);
      if (epoch && epoch !== epochBefore && cache.health().usable) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(epoch).toMatch(/^[0-9a-z]+$/);
    expect(epoch).not.toBe(epochBefore);
    expect(await runIdOf(client, owner)).not.toBe(runIdBefore);
    expect(cache.health()).toMatchObject({ usable: true, state: 'ok' });
    // And it caches again under the new epoch.
    expectNoErrors(await gql(a.url, q));
    expect((await gql(a.url, q)).headers.get('x-cache')).toBe('HIT');
    expect((await scanKeys(client, `${keys.base}${epoch}:*`)).length).toBeGreaterThan(0);
  });
});
