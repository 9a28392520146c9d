// SPEC §6.3: after a mixed workload over two instances, no email or phone is readable anywhere
// in Redis: shared entries never hold them, and per-user entries (keys naming the user) hold
// them only encrypted (docs/privacy.md).
import { Redis } from 'ioredis';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
const redis = new Redis(testRedisUrl());
afterAll(() => redis.quit());

async function allKeys(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  // Event streams are prefixed too, but inside a hash tag: include them.
  cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return [...new Set(keys)];
}

async function valueOf(key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string':
      return (await redis.get(key)) ?? '';
    case 'set':
      return (await redis.smembers(key)).join('\n');
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'stream':
      return JSON.stringify(await redis.xrange(key, '-', '+'));
    case 'list':
      return (await redis.lrange(key, 0, -1)).join('\n');
    default:
      return '';
  }
}

test('a mixed workload leaves no readable email or phone in any Redis key or value', async () => {
  const prefix = uniqueCachePrefix();
  const env = { CACHE_PREFIX: prefix };
  const instances: Instance[] = [
    await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env }),
    await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env }),
  ];
  const [a, b] = instances as [Instance, Instance];
  const tokens = await demoTokens(a.url);

  // A subscriber that may see PRIVATE fields, so events are resolved with them.
  const client = createClient({ url: b.wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tokens.staff}` }, retryAttempts: 0 });
  const received: unknown[] = [];
  const unsubscribe = client.subscribe(
    { query: 'subscription { donationRecorded { id donor { id email phone } } }' },
    { next: (v) => void received.push(v), error: () => {}, complete: () => {} },
  );

  const queries = [
    '{ donors(first: 30) { nodes { id name email phone donations(first: 3) { nodes { id donor { email } } } } } }',
    '{ donor(id: "1") { id email phone } me { id email phone } }',
    '{ hospital(id: "1") { name inventory { units } requests { id } } availability(bloodGroup: O_NEG) { units } dashboardStats { totalDonors } }',
    '{ campaigns(activeOnly: false) { id donations(first: 5) { nodes { donor { name email } } } } }',
  ];
  for (const [i, token] of [tokens.staff, tokens.admin, tokens.donor, undefined].entries()) {
    for (const q of queries) {
      await gql(i % 2 ? a.url : b.url, q, undefined, { token });
      await gql(i % 2 ? b.url : a.url, q, undefined, { token });
    }
  }
  const [donor] = await query<{ id: number }>(db().url, `SELECT id FROM donors WHERE last_donation_at IS NULL OR last_donation_at < now() - interval '60 days' ORDER BY id DESC LIMIT 1`);
  const recorded = expectNoErrors(
    await gql(a.url, `mutation { recordDonation(input: { donorId: "${donor!.id}", hospitalId: "1" }) { id donor { email phone } } }`, undefined, { token: tokens.staff }),
  );
  expect(recorded.recordDonation.donor.email).toEqual(expect.stringContaining('@'));
  expectNoErrors(await gql(b.url, 'mutation { updateDonor(id: "1", input: { phone: "+44 20 7946 0101" }) { phone } }', undefined, { token: tokens.donor }));
  expectNoErrors(await gql(a.url, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: A_POS, delta: 2) { units } }', undefined, { token: tokens.staff }));
  for (const q of queries) await gql(a.url, q, undefined, { token: tokens.staff });
  const deadline = Date.now() + 5_000;
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(JSON.stringify(received)).toContain('@'); // the allowed subscriber did get the email
  unsubscribe();
  await client.dispose();

  const contacts = await query<{ email: string | null; phone: string | null }>(db().url, 'SELECT email, phone FROM donors');
  const secrets = contacts.flatMap((c) => [c.email, c.phone]).filter((v): v is string => Boolean(v));
  expect(secrets.length).toBeGreaterThan(50);
  const keys = await allKeys(prefix);
  expect(keys.length).toBeGreaterThan(20);
  const leaks: string[] = [];
  for (const key of keys) {
    const value = await valueOf(key);
    const found = secrets.find((s) => key.includes(s) || value.includes(s) || value.includes(JSON.stringify(s).slice(1, -1)));
    if (found) leaks.push(`${key} holds ${found}`);
  }
  expect(leaks).toEqual([]);
  // The workload did cache private answers: they are there, just not readable.
  expect(keys.filter((k) => /:resp:user:\d+:/.test(k)).length).toBeGreaterThan(0);
}, 60_000);
