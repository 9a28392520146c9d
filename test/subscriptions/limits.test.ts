// Slow and abusive clients: connections per address, operations per connection, a client that
// stops reading (closed with 1013 once its queue is full, its memory released), sockets that
// vanish without a close (dropped by keep-alive, nothing left behind).
import { once } from 'node:events';
import WebSocket from 'ws';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedisPubSub } from '../../src/pubsub/redis.js';
import { createRedisClient } from '../../src/redis/client.js';
import { deferred, eventually, operationsOpen, subscribe } from './helpers.js';

const db = useSeededDatabase();
const prefix = uniqueCachePrefix();
let strict: Instance;
let baseline: { connections: number; listeners: number; closedTooSlow: number };

beforeAll(async () => {
  strict = await startInstance({
    databaseUrl: db().url,
    redisUrl: testRedisUrl(),
    env: { CACHE_PREFIX: prefix },
    appOptions: {
      live: { maxConnectionsPerIp: 12, maxSubscriptionsPerConnection: 2, maxQueuedEvents: 20, maxBufferedBytes: 256 * 1024, keepAliveMs: 250 },
    },
  });
  const s = strict.app.liveStats();
  baseline = { connections: s.ws.connections, listeners: s.pubsub.listeners, closedTooSlow: s.ws.closedTooSlow };
});

/** A bare graphql-transport-ws client, so a test can stop it reading (ws.pause()). */
async function rawClient(instance: Instance, query?: string): Promise<WebSocket> {
  const ws = new WebSocket(instance.wsUrl, 'graphql-transport-ws');
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  const [ack] = await once(ws, 'message');
  expect(JSON.parse(String(ack)).type).toBe('connection_ack');
  if (query) ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
  return ws;
}

function closeOf(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

const stats = () => strict.app.liveStats();

test('connections per address: past the limit the upgrade is refused with HTTP 429; a freed slot is usable again', async () => {
  const clients = await Promise.all(Array.from({ length: 12 }, () => rawClient(strict)));
  const refused = new WebSocket(strict.wsUrl, 'graphql-transport-ws');
  refused.on('error', () => {});
  const [req, res] = await once(refused, 'unexpected-response');
  expect(res.statusCode).toBe(429);
  req.destroy();

  clients[0]!.close();
  await closeOf(clients[0]!);
  await eventually('a free slot', () => stats().ws.connections < baseline.connections + 12);
  const again = await rawClient(strict);
  again.close();
  for (const c of clients.slice(1)) c.close();
  await Promise.all([again, ...clients].map(closeOf));
});

test('operations per connection: past the limit the operation gets RATE_LIMITED, the others go on', async () => {
  const first = subscribe(strict, 'subscription { inventoryChanged { units } }');
  await operationsOpen(strict, 1);
  // Two more on the same client (and socket).
  const more: { errors?: unknown; n: number }[] = [{ n: 0 }, { n: 0 }];
  const failed = deferred<unknown>();
  more.forEach((m) =>
    first.client.subscribe({ query: 'subscription { dashboardStatsUpdated { openRequests } }' }, { next: () => m.n++, error: (e) => failed.resolve(e), complete: () => {} }),
  );
  expect(await failed.promise).toEqual([expect.objectContaining({ extensions: { code: 'RATE_LIMITED' } })]);
  expect(stats().ws.operations).toBe(2);
  await first.dispose();
});

test('a client that stops reading is closed with 1013 once its queue is full; its subscription is released', async () => {
  // Big events: each alias repeats a 16 KiB hospital name, ~0.4 MiB per message (within the alias limit).
  const aliases = Array.from({ length: 25 }, (_, i) => `h${i}: hospital { name }`).join(' ');
  const ws = await rawClient(strict, `subscription { inventoryChanged { ${aliases} } }`);
  await operationsOpen(strict, 1);
  const code = closeOf(ws);
  ws.pause(); // stops reading: the kernel buffers fill, then our queue

  // Publish straight into the instance's streams (same Redis and prefix), as writes would.
  const publishClient = createRedisClient({ url: testRedisUrl(), name: 'test-publisher', logger: createLogger('silent') });
  const subscribeClient = createRedisClient({ url: testRedisUrl(), name: 'test-subscriber', logger: createLogger('silent'), failFast: false });
  const publisher = createRedisPubSub({ publishClient, subscribeClient, prefix, logger: createLogger('silent'), maxEvents: 100 });
  await publisher.ready();
  const hospital = { id: 1, name: 'x'.repeat(16 * 1024), region: 'North', city: 'Northgate' };
  try {
    for (let i = 0; i < 200 && stats().pubsub.listeners > baseline.listeners; i++) {
      await publisher.publish('inventoryChanged', { item: { hospitalId: 1, bloodGroup: 'O_NEG', units: i, updatedAt: new Date() }, hospital });
    }
    // The server gave up on it: no listener left, whatever the client does next.
    await eventually('the slow subscription released', () => stats().pubsub.listeners === baseline.listeners);
    expect(stats().ws.closedTooSlow).toBeGreaterThan(baseline.closedTooSlow);
    ws.resume();
    // The client sees the 1013 close frame once it reads again, unless keep-alive already cut the
    // socket it stopped answering (1006): which comes first depends on the machine's load.
    expect([1013, 1006]).toContain(await code);
  } finally {
    await publisher.close();
    publishClient.disconnect();
    subscribeClient.disconnect();
  }
});

test('sockets that vanish without closing are dropped by keep-alive, leaving no connection nor listener behind', async () => {
  const clients = await Promise.all(Array.from({ length: 10 }, () => rawClient(strict, 'subscription { bloodRequestChanged { id } }')));
  await operationsOpen(strict, 10);
  expect(stats().pubsub.listeners).toBe(baseline.listeners + 10);
  // Frozen peers: they never answer a ping again.
  for (const c of clients) c.pause();
  await eventually('keep-alive dropped the frozen sockets', () => stats().ws.connections === baseline.connections && stats().ws.operations === 0, 5000);
  expect(stats().pubsub.listeners).toBe(baseline.listeners);
  for (const c of clients) c.terminate();
});

test('behind a trusted proxy the per-address limit counts X-Forwarded-For clients, not the proxy', async () => {
  const proxied = await startInstance({
    databaseUrl: db().url,
    redisUrl: testRedisUrl(),
    env: { CACHE_PREFIX: prefix, TRUST_PROXY: '1' },
    appOptions: { live: { maxConnectionsPerIp: 2 } },
  });
  const open = (client: string) => {
    const ws = new WebSocket(proxied.wsUrl, 'graphql-transport-ws', { headers: { 'x-forwarded-for': client } });
    ws.on('error', () => {});
    return ws;
  };
  const first = [open('203.0.113.7'), open('203.0.113.7')];
  await Promise.all(first.map((ws) => once(ws, 'open')));
  const third = open('203.0.113.7');
  const [req, res] = await once(third, 'unexpected-response');
  expect(res.statusCode).toBe(429);
  req.destroy();
  // Same socket peer (the "proxy"), another client: its own budget.
  const other = open('198.51.100.9');
  await once(other, 'open');
  for (const ws of [...first, other]) ws.close();
});
