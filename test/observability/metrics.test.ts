// GET /metrics over real servers (PostgreSQL, Redis): scrape after known traffic and check the
// counts: response-cache hits, SQL statements on a miss and none on a hit, entity hits per layer
// and type, error codes, WebSocket and subscription gauges, event delivery lag.
import { startInstance, type Instance } from '../helpers/app.js';
import { login, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scrape, sum } from '../helpers/metrics.js';
import { testRedisUrl } from '../helpers/redis.js';
import { eventually, operationsOpen, subscribe } from '../subscriptions/helpers.js';
import { boundedLabel, cacheKeyType, OTHER } from '../../src/observability/metrics.js';

const db = useSeededDatabase({ donors: 40, hospitals: 6, donations: 120, campaigns: 3, requests: 10, seed: 21 });

const metric = async (instance: Instance, name: string, match?: Record<string, string>) => sum((await scrape(instance)).samples, name, match);

test('process defaults and the text format', async () => {
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() });
  const { samples, contentType } = await scrape(a);
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  // CPU counters count from the first scrape (prom-client), in clock ticks: spend some, scrape again.
  expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
  const until = Date.now() + 50;
  while (Date.now() < until);
  expect(sum((await scrape(a)).samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  expect(sum(samples, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
  expect(sum(samples, 'lifeline_cache_state', { state: 'ok' })).toBe(1);
  expect(sum(samples, 'lifeline_cache_state', { state: 'circuit-open' })).toBe(0);
});

test('N response-cache hits after one miss: N hits counted, SQL on the miss only, per-operation histogram', async () => {
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() });
  const b = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() }); // its own registry
  const query = 'query HospitalNames { hospitals { id name } }';
  const N = 5;

  const beforeMiss = await metric(a, 'lifeline_sql_statements_total');
  expect((await gql(a.url, query)).headers.get('x-cache')).toBe('MISS');
  const afterMiss = (await scrape(a)).samples;
  expect(sum(afterMiss, 'lifeline_sql_statements_total')).toBeGreaterThan(beforeMiss);
  expect(sum(afterMiss, 'lifeline_sql_statement_duration_seconds_count')).toBeGreaterThan(0);

  for (let i = 0; i < N; i++) expect((await gql(a.url, query)).headers.get('x-cache')).toBe('HIT');
  const after = (await scrape(a)).samples;
  expect(sum(after, 'lifeline_sql_statements_total')).toBe(sum(afterMiss, 'lifeline_sql_statements_total'));
  expect(sum(after, 'lifeline_http_request_duration_seconds_count', { operation: 'HospitalNames', cache: 'HIT' })).toBe(N);
  expect(sum(after, 'lifeline_http_request_duration_seconds_count', { operation: 'HospitalNames', cache: 'MISS' })).toBe(1);
  expect(sum(after, 'lifeline_cache_hits_total', { type: 'response' })).toBe(N);
  expect(sum(after, 'lifeline_cache_misses_total', { type: 'response' })).toBe(1);
  expect(sum(after, 'lifeline_cache_read_duration_seconds_count', { type: 'response' })).toBe(N + 1);
  expect(sum(after, 'lifeline_http_requests_total', { route: '/graphql', status: '200' })).toBe(N + 1);
  expect(sum(after, 'lifeline_cache_writes_total')).toBeGreaterThan(0);

  // Instance b saw none of it.
  expect(await metric(b, 'lifeline_http_request_duration_seconds_count', { operation: 'HospitalNames' })).toBe(0);
  // An anonymous operation gets the fixed label.
  await gql(b.url, '{ hospitals { id } }');
  expect(await metric(b, 'lifeline_http_request_duration_seconds_count', { operation: '(anonymous)', cache: 'MISS' })).toBe(1);
});

test('entity cache: misses, then L2 and L1 hits per type; mutations count invalidations', async () => {
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_MODE: 'entity' } });
  const query = 'query OneDonor { donor(id: "3") { id name } }';
  expectNoErrors(await gql(a.url, query));
  expect(await metric(a, 'lifeline_cache_misses_total', { type: 'Donor' })).toBe(1);
  // The write-back does not delay the answer: wait for it before reading again.
  await eventually('the donor written back', () => a.app.services.cache!.stats.writes > 0);
  expectNoErrors(await gql(a.url, query)); // from Redis (and now copied into L1)
  expectNoErrors(await gql(a.url, query)); // from L1, validated against Redis
  const s = (await scrape(a)).samples;
  expect(sum(s, 'lifeline_cache_hits_total', { layer: 'l2', type: 'Donor' })).toBe(1);
  expect(sum(s, 'lifeline_cache_hits_total', { layer: 'l1', type: 'Donor' })).toBe(1);
  expect(sum(s, 'lifeline_cache_read_duration_seconds_count', { type: 'Donor' })).toBe(3);
  // CACHE_MODE=entity: no response cache.
  expect(sum(s, 'lifeline_http_request_duration_seconds_count', { operation: 'OneDonor', cache: 'BYPASS' })).toBe(3);
  expect(sum(s, 'lifeline_cache_hits_total', { type: 'response' })).toBe(0);

  const { accessToken } = await login(a.url, 'staff');
  expectNoErrors(await gql(a.url, 'mutation Adjust { adjustInventory(hospitalId: "1", bloodGroup: O_NEG, delta: 1) { units } }', undefined, { token: accessToken }));
  const m = (await scrape(a)).samples;
  expect(sum(m, 'lifeline_cache_invalidations_total')).toBe(1);
  expect(sum(m, 'lifeline_cache_invalidation_duration_seconds_count')).toBe(1);
});

test('error codes are counted; a bad token is UNAUTHENTICATED', async () => {
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() });
  const res = await gql(a.url, 'query Me { me { id } }', undefined, { token: 'not-a-token' });
  expect(res.status).toBe(401);
  await gql(a.url, 'query Broken { nope }');
  const s = (await scrape(a)).samples;
  expect(sum(s, 'lifeline_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
  expect(sum(s, 'lifeline_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
  expect(sum(s, 'lifeline_http_requests_total', { route: '/graphql', status: '401' })).toBe(1);
  expect(sum(s, 'lifeline_http_request_duration_seconds_count', { operation: 'Me', cache: 'BYPASS' })).toBe(1);
});

test('WebSocket connections, open subscriptions, pub/sub listeners and delivery lag', async () => {
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() });
  const sub = subscribe(a, 'subscription { inventoryChanged(bloodGroup: O_NEG) { units } }');
  await sub.connected;
  await operationsOpen(a, 1);
  let s = (await scrape(a)).samples;
  expect(sum(s, 'lifeline_ws_connections')).toBe(1);
  expect(sum(s, 'lifeline_subscriptions_open')).toBe(1);
  expect(sum(s, 'lifeline_pubsub_listeners')).toBeGreaterThanOrEqual(1);

  const { accessToken } = await login(a.url, 'staff');
  expectNoErrors(await gql(a.url, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: O_NEG, delta: 1) { units } }', undefined, { token: accessToken }));
  await sub.received(1);
  s = (await scrape(a)).samples;
  expect(sum(s, 'lifeline_pubsub_published_total')).toBeGreaterThanOrEqual(1);
  expect(sum(s, 'lifeline_pubsub_delivery_lag_seconds_count', { topic: 'inventoryChanged' })).toBe(1);

  await sub.dispose();
  await eventually('the socket closed on the server', () => a.app.liveStats().ws.connections === 0);
  s = (await scrape(a)).samples;
  expect(sum(s, 'lifeline_ws_connections')).toBe(0);
  expect(sum(s, 'lifeline_subscriptions_open')).toBe(0);
});

test('labels stay bounded: invalid or excess values become (other)', () => {
  const label = boundedLabel(/^[A-Za-z]+$/, 2);
  expect([label('A'), label('B'), label('C'), label('A'), label('bad name')]).toEqual(['A', 'B', OTHER, 'A', OTHER]);
  expect(cacheKeyType('Donor:42')).toBe('Donor');
  expect(cacheKeyType('donors?after=*&limit=21')).toBe('donors');
  expect(cacheKeyType('resp:user:7:abc')).toBe('response');
  expect(cacheKeyType('DashboardStats')).toBe('DashboardStats');
});
