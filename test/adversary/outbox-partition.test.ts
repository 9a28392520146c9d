// One instance cut off from Redis while the others reach it (CACHE-CONSISTENCY case 7): its
// mutation either becomes visible on the other instance before the acknowledgement, or is
// answered with INVALIDATION_PENDING (committed, visible by a stated time). Never success
// while another instance still serves the previous value from the shared cache.
// Instance A reaches Redis through a TCP proxy the test cuts; instance B reaches it directly.
import { useSeededDatabase } from '../helpers/fixtures.js';
import { gql, type GqlResponse } from '../helpers/graphql.js';
import { readDonor, useInstancePair, warmDonor } from '../helpers/outbox.js';

const db = useSeededDatabase();
// A reaches Redis through the proxy, B directly.
const pair = useInstancePair(db);

const setCity = (url: string, id: string, city: string) =>
  gql(url, 'mutation($id: ID!, $c: String!) { updateDonor(id: $id, input: { city: $c }) { city } }', { id, c: city }, { token: pair.staff, timeoutMs: 30_000 });

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (let i = 0; i < 10_000; i++) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** The user-visible contract of an acknowledged write while its instance is partitioned. */
async function expectNoStaleAfterAck(res: GqlResponse, id: string, city: string) {
  const error = res.body?.errors?.[0];
  if (!error) {
    expect(res.body.data.updateDonor.city).toBe(city);
    // Success: the other instance serves the new value from the very next read on.
    for (let i = 0; i < 5; i++) expect((await readDonor(pair.b.url, id)).body.data.donor.city).toBe(city);
    return 'visible';
  }
  expect(error.extensions).toMatchObject({ code: 'INVALIDATION_PENDING', committed: true, visibleBy: expect.any(String) });
  const visibleBy = Date.parse(error.extensions!.visibleBy as string);
  expect(visibleBy).toBeGreaterThan(Date.now() - 60_000);
  // Committed: visible everywhere once the stated time has passed.
  await new Promise((r) => setTimeout(r, Math.max(0, visibleBy - Date.now()) + 200));
  expect((await readDonor(pair.b.url, id)).body.data.donor.city).toBe(city);
  return 'pending';
}

test('cut (connections reset): the write is applied by the other instance before the ack, or answered INVALIDATION_PENDING', async () => {
  const before = await warmDonor(pair.b.url, '30');
  pair.proxy.cut();
  try {
    const res = await setCity(pair.a.url, '30', 'CutOff-1');
    expect(before).not.toBe('CutOff-1');
    const path = await expectNoStaleAfterAck(res, '30', 'CutOff-1');
    // B can reach Redis and hears A's NOTIFY: it applies the row, so A may answer success.
    expect(path).toBe('visible');
    // A itself does not serve its own cache while cut off (reads come from PostgreSQL).
    expect((await readDonor(pair.a.url, '30')).body.data.donor.city).toBe('CutOff-1');
  } finally {
    pair.proxy.heal();
  }
  // A comes back to serving from the cache on its own, and serves the new value.
  await until('A serves from the cache again', async () => (await readDonor(pair.a.url, '30')).headers.get('x-cache') === 'HIT', 15_000);
  expect((await readDonor(pair.a.url, '30')).body.data.donor.city).toBe('CutOff-1');
}, 60_000);

test('blackhole (silent partition): the same contract, within the bound of the cache timeouts', async () => {
  const before = await warmDonor(pair.b.url, '31');
  pair.proxy.blackhole();
  // Not healed: a blackholed connection loses bytes, and the instance is stopped by afterAll.
  const res = await setCity(pair.a.url, '31', 'Silent-1');
  expect(before).not.toBe('Silent-1');
  await expectNoStaleAfterAck(res, '31', 'Silent-1');
}, 60_000);
