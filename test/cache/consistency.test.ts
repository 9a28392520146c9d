// The history checker: concurrent readers and writers over two instances for a bounded
// time. Every read that starts after a write's acknowledgement must reflect that write
//. Run once as shipped (zero violations) and once with invalidation
// switched off, where it must find violations: proof that the checker can see them.
import type { AppOptions } from '../../src/app.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
const DONORS = ['11', '12', '13'];
const RUN_MS = 5_000;

interface Ack {
  key: string;
  value: number;
  ackedAt: number;
}
interface Read {
  key: string;
  value: number;
  startedAt: number;
  instance: string;
}

async function runHistory(appOptions?: AppOptions) {
  const env = { CACHE_PREFIX: uniqueCachePrefix() };
  const instances: Instance[] = [
    await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions }),
    await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env, appOptions }),
  ];
  const { staff } = await demoTokens(instances[0]!.url);
  const [{ units: baseUnits }] = await query<{ units: number }>(db().url, `SELECT units FROM inventory WHERE hospital_id = 1 AND blood_group = 'O_POS'`);
  const acks: Ack[] = [];
  const reads: Read[] = [];
  const deadline = Date.now() + RUN_MS;
  const pick = () => instances[Math.floor(Math.random() * instances.length)]!;

  // One serial writer per key, so "the latest acknowledged value" is well defined.
  const donorWriter = async (id: string) => {
    for (let n = 1; Date.now() < deadline && n < 10_000; n++) {
      const res = await gql(pick().url, 'mutation($id: ID!, $c: String!) { updateDonor(id: $id, input: { city: $c }) { city } }', { id, c: `v${n}` }, { token: staff });
      if (!res.body.errors) acks.push({ key: `donor:${id}`, value: n, ackedAt: performance.now() });
    }
  };
  const stockWriter = async () => {
    for (let n = 1; Date.now() < deadline && n < 10_000; n++) {
      const res = await gql(pick().url, 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_POS, delta: 1) { units } }', undefined, { token: staff });
      if (!res.body.errors) acks.push({ key: 'stock', value: n, ackedAt: performance.now() });
    }
  };
  const reader = async () => {
    while (Date.now() < deadline) {
      const instance = pick();
      const startedAt = performance.now();
      const res = await gql(
        instance.url,
        `{ donors(first: 20) { nodes { id city } } ${DONORS.map((id) => `d${id}: donor(id: "${id}") { city }`).join(' ')} hospital(id: "1") { inventory { bloodGroup units } } availability(bloodGroup: O_POS) { units hospital { id } } }`,
      );
      const data = res.body.data;
      if (!data) continue;
      for (const id of DONORS) {
        const single = Number(String(data[`d${id}`].city).replace(/^v/, '')) || 0;
        reads.push({ key: `donor:${id}`, value: single, startedAt, instance: instance.url });
        const inList = data.donors.nodes.find((n: { id: string }) => n.id === id);
        if (inList) reads.push({ key: `donor:${id}`, value: Number(String(inList.city).replace(/^v/, '')) || 0, startedAt, instance: instance.url });
      }
      const stock = data.hospital.inventory.find((i: { bloodGroup: string }) => i.bloodGroup === 'O_POS').units - baseUnits;
      reads.push({ key: 'stock', value: stock, startedAt, instance: instance.url });
      const av = data.availability.find((i: { hospital: { id: string } }) => i.hospital.id === '1');
      if (av) reads.push({ key: 'stock', value: av.units - baseUnits, startedAt, instance: instance.url });
    }
  };
  await Promise.all([...DONORS.map(donorWriter), stockWriter(), reader(), reader(), reader(), reader()]);
  await Promise.all(instances.map((i) => i.stop()));

  const violations = reads.filter((r) => {
    const required = acks.filter((a) => a.key === r.key && a.ackedAt < r.startedAt).reduce((max, a) => Math.max(max, a.value), 0);
    return r.value < required;
  });
  return { acks: acks.length, reads: reads.length, violations };
}

test('zero stale reads after acknowledgement, across two instances', async () => {
  const { acks, reads, violations } = await runHistory();
  expect(acks).toBeGreaterThan(20);
  expect(reads).toBeGreaterThan(100);
  expect(violations).toEqual([]);
}, 60_000);

test('the checker finds stale reads when invalidation is switched off', async () => {
  const { violations } = await runHistory({ unsafe: { skipInvalidation: true } });
  expect(violations.length).toBeGreaterThan(0);
}, 60_000);
