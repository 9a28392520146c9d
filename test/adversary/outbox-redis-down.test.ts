// Redis down for every instance (CACHE-CONSISTENCY case 6): writes still succeed (from
// PostgreSQL), and once Redis is back, with its pre-outage entries intact, no instance serves
// one that the outage's writes made stale. Both instances reach Redis through one TCP proxy,
// so cutting it is an outage for all while the data in Redis survives (same dataset, same
// run_id: nothing tells the instances that writes were missed except the outbox). The writer
// is stopped before Redis returns, so its own recovery cannot repair the cache for the others.
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { readDonor, useInstancePair, warmDonor } from '../helpers/outbox.js';

const db = useSeededDatabase();

/** A write during the outage: its own bounded invalidation attempt, then at most a relay round of the others (they give their lease up). */
const WRITE_BOUND_MS = 6_000;
// Both instances reach Redis through the proxy: cutting it is an outage for all.
const pair = useInstancePair(db, { bThroughProxy: true });

test('Redis down for all: the write succeeds; after Redis returns no pre-outage entry is served', async () => {
  const old = await warmDonor(pair.b.url, '50');

  pair.proxy.cut();
  const started = Date.now();
  const res = await gql(pair.a.url, 'mutation { updateDonor(id: "50", input: { city: "DuringOutage" }) { city } }', undefined, { token: pair.staff, timeoutMs: 30_000 });
  const tookMs = Date.now() - started;
  expect(expectNoErrors(res).updateDonor.city).toBe('DuringOutage');
  expect(tookMs).toBeLessThan(WRITE_BOUND_MS);
  console.log(`write with Redis down for all instances answered in ${tookMs} ms`);
  expect(old).not.toBe('DuringOutage');
  // Reads go on from PostgreSQL meanwhile.
  expect(expectNoErrors(await readDonor(pair.b.url, '50')).donor.city).toBe('DuringOutage');

  await pair.a.stop();
  pair.proxy.heal();

  // From the moment Redis is back: every read returns the new value, until (and after) B serves
  // from its cache again. The old entry is still in Redis; only the outbox says it is stale.
  let hits = 0;
  const deadline = Date.now() + 15_000;
  for (let i = 0; i < 2_000 && Date.now() < deadline && hits < 5; i++) {
    const r = await readDonor(pair.b.url, '50');
    expect(expectNoErrors(r).donor.city).toBe('DuringOutage');
    if (r.headers.get('x-cache') === 'HIT') hits++;
    else await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(hits).toBe(5);
}, 60_000);
