// The other side of "one instance cut off from Redis": when another instance still holds a
// serving lease and has not applied the cut-off writer's invalidation within the writer's
// bound, the writer must not answer success. It answers INVALIDATION_PENDING (committed, with
// the time by which every instance shows the change), and that time holds.
// B is made a slow relay on purpose (no LISTEN, one poll a minute, a 12 s lease): it holds its
// lease but applies nothing during the test, which is what a stalled or lagging relay looks like.
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { readDonor, useInstancePair, warmDonor } from '../helpers/outbox.js';

const db = useSeededDatabase();
const LEASE_MS = 12_000;
// B is the slow relay: no LISTEN, one poll a minute, a long lease.
const pair = useInstancePair(db, {
  aOptions: { outbox: { settleMs: 1_000 } },
  bOptions: { outbox: { listen: false, pollMs: 60_000, leaseMs: LEASE_MS } },
});

test('a lease holder that has not applied the row: the writer answers INVALIDATION_PENDING, and visibleBy holds', async () => {
  const old = await warmDonor(pair.b.url, '35');

  pair.proxy.cut();
  const res = await gql(pair.a.url, 'mutation { updateDonor(id: "35", input: { city: "Pending-1" }) { city } }', undefined, { token: pair.staff, timeoutMs: 30_000 });
  const error = res.body.errors?.[0];
  expect(error?.extensions).toMatchObject({ code: 'INVALIDATION_PENDING', committed: true, visibleBy: expect.any(String) });
  const visibleBy = Date.parse(error!.extensions!.visibleBy as string);
  expect(visibleBy).toBeGreaterThan(Date.now());
  expect(visibleBy).toBeLessThanOrEqual(Date.now() + LEASE_MS + 1_000);
  // Why success would have been a lie: B still serves the previous value right now.
  expect(expectNoErrors(await readDonor(pair.b.url, '35')).donor.city).toBe(old);
  // The change is committed (A reads PostgreSQL while cut off) ...
  expect(expectNoErrors(await readDonor(pair.a.url, '35')).donor.city).toBe('Pending-1');
  // ... and from visibleBy on, B shows it too.
  await new Promise((r) => setTimeout(r, Math.max(0, visibleBy - Date.now()) + 100));
  for (let i = 0; i < 5; i++) expect(expectNoErrors(await readDonor(pair.b.url, '35')).donor.city).toBe('Pending-1');
  pair.proxy.heal();
}, 60_000);
