// Prometheus metrics for GET /metrics. One Registry per app instance
// (tests run several instances in one process, so never prom-client's global registry). What
// the code can count where it happens is counted there (HTTP requests, cache reads, SQL
// statements, Redis errors, event lag); gauges read existing state at scrape time.
//
// Every label is bounded: operation names, cache types and error codes are validated and
// capped (past the cap they become "(other)"), so a client cannot grow the series count.
import { keyLabel } from '../cache/declare.js';
import cluster from 'node:cluster';
import type { EventEmitter } from 'node:events';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Cache, CacheObserver, CacheStats, Hit } from '../cache/cache.js';
import type { Database } from '../db/client.js';
import type { Envelope, PubSub } from '../pubsub/pubsub.js';
import { clusterScrape } from '../workers.js';
import type { RedisNodeInfo } from './redis-info.js';

/** State read at scrape time; each source is optional (no Redis, cache off, ...). */
export interface MetricsSources {
  /** The cache core's counters and health; unset when CACHE_MODE=off. */
  cache?: () => { stats: CacheStats; health: { state: CacheState } };
  /** App.liveStats(): WebSocket connections, open operations, pub/sub listeners. */
  /** Redis INFO per node, rate-limited by its reader (observability/redis-info.ts). */
  redis?: () => Promise<RedisNodeInfo[]>;
  /** The PostgreSQL connection pool (postgres driver only). */
  pool?: () => { max: number; inUse: number; waiting: number };
  live?: () => { ws: { connections: number; operations: number; framesSerialized: number; framesSent: number }; pubsub: { listeners: number; published: number; superseded: number; gapsRecovered: number } };
}

export type CacheState = ReturnType<Cache['health']>['state'];
const CACHE_STATES: readonly CacheState[] = ['ok', 'circuit-open', 'suspended', 'reconnecting'];

/** One finished HTTP request, as the request log saw it (observability/request-log.ts). */
export interface RequestSample {
  /** /graphql, /health, /ready, /metrics, or anything else (labelled "other"). */
  route: string;
  status: number;
  /** The GraphQL operation name; null when anonymous or unknown. */
  operationName: string | null;
  /** x-cache (HIT, MISS, BYPASS); null when the response had none. */
  cache: string | null;
  seconds: number;
  errorCodes: readonly string[];
}

export interface Metrics {
  registry: Registry;
  /** The Content-Type of scrape()'s text. */
  contentType: string;
  /** Prometheus text exposition: process defaults, then this instance's metrics. */
  scrape(): Promise<string>;
  /** Called once per finished HTTP request. */
  observeRequest(sample: RequestSample): void;
  /** Hooks for the cache core (CacheOptions.observer). */
  cache: CacheObserver;
  /** Counts one response the warmer stored after an epoch move (cache/warmer.ts). */
  cacheWarmed(): void;
  cacheRefreshed(): void;
  /** Counts and times every SQL statement of the database. Returns a detach function. */
  watchDatabase(database: Database): () => void;
  /** Counts a Redis client's 'error' events, labelled by `client`. */
  watchRedis(client: EventEmitter, name: string): void;
  /** The same engine, measuring each event's delivery lag (publish → local dispatch) once per instance. */
  observeDelivery(pubsub: PubSub): PubSub;
  /** Where gauges read from; set once the app has built what they read. */
  sources: MetricsSources;
}

/** Latency buckets (s) for requests and cache/SQL round trips: 0.5 ms .. 10 s. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const ANONYMOUS = '(anonymous)';
export const OTHER = '(other)';

/**
 * A label value from client-controlled text: valid values pass up to `cap` distinct ones;
 * invalid ones and anything past the cap become "(other)".
 */
export function boundedLabel(pattern: RegExp, cap: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (!pattern.test(value) || seen.size >= cap) return OTHER;
    seen.add(value);
    return value;
  };
}

/**
 * What a cache key is, for the `type` label: the declared type or list it belongs to (entities
 * `Type:id`, lists `name?…`, counts `name.count?…`, aggregates `Type`), or `response`. Keys are
 * opaque to the cache core; their spelling is cache/declare.ts's, which parses them back.
 */
export const cacheKeyType = keyLabel;

// Process metrics (CPU, memory, GC, event loop) describe the process, not an app instance, and
// collecting them starts an event-loop-delay timer and a GC observer that are never stopped: so
// they live in one registry per process, shared by every instance, created on first use.
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const localScrape = async () => {
    const [proc, app] = await Promise.all([processMetrics().metrics(), registry.metrics()]);
    return `${proc}\n${app}`;
  };
  // A WEB_CONCURRENCY worker (workers.ts) reports these registries when the primary aggregates.
  const inWorker = cluster.isWorker;
  if (inWorker) {
    new AggregatorRegistry(); // registers prom-client's worker-side listener
    AggregatorRegistry.setRegistries([processMetrics(), registry]);
  }
  const sources: MetricsSources = {};
  /** A counter mirroring a total that other code increments at its source (read at scrape time). */
  const counterFrom = (name: string, help: string, read: () => number | undefined) => {
    let last = 0;
    return new Counter({
      name,
      help,
      registers,
      collect() {
        const value = read();
        if (value === undefined) return;
        if (value > last) this.inc(value - last);
        last = value;
      },
    });
  };

  /** A gauge showing a value read at scrape time from its source. */
  const gaugeFrom = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });

  // ---- HTTP ------------------------------------------------------------------------------------
  const operationLabel = boundedLabel(/^[_A-Za-z][_0-9A-Za-z]{0,63}$/, 200);
  const errorCodeLabel = boundedLabel(/^[A-Z][A-Z0-9_]{0,47}$/, 50);
  const ROUTES = new Set(['/graphql', '/health', '/ready', '/metrics']);
  const requestDuration = new Histogram({
    name: 'lifeline_http_request_duration_seconds',
    help: 'GraphQL requests over HTTP: time to the last byte, by operation name and x-cache (HIT, MISS, BYPASS; NONE when refused before the cache)',
    labelNames: ['operation', 'cache'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const requests = new Counter({
    name: 'lifeline_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers,
  });
  const graphqlErrors = new Counter({
    name: 'lifeline_graphql_errors_total',
    help: 'Errors in GraphQL responses over HTTP, by extensions.code',
    labelNames: ['code'] as const,
    registers,
  });

  // ---- cache -----------------------------------------------------------------------------------
  const typeLabel = boundedLabel(/^[A-Za-z][A-Za-z0-9_:.-]{0,47}$/, 100);
  const cacheHits = new Counter({
    name: 'lifeline_cache_hits_total',
    help: 'Cache reads served fresh, by layer (l1: in-process copy, validated against Redis; l2: Redis or the memory store) and type (GraphQL type, list name, or "response")',
    labelNames: ['layer', 'type'] as const,
    registers,
  });
  const cacheMisses = new Counter({
    name: 'lifeline_cache_misses_total',
    help: 'Cache reads that found nothing usable (absent, invalidated, or the cache unusable), by type',
    labelNames: ['type'] as const,
    registers,
  });
  const cacheStale = new Counter({
    name: 'lifeline_cache_stale_hits_total',
    help: 'Cache reads that found an entry past its maxAge but within grace (stale-while-revalidate / stale-if-error), by type',
    labelNames: ['type'] as const,
    registers,
  });
  const cacheReadDuration = new Histogram({
    name: 'lifeline_cache_read_duration_seconds',
    help: 'One cache read (L1 checks and the store round trip for all its keys), by the type of its keys',
    labelNames: ['type'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const cacheWarmed = new Counter({
    name: 'lifeline_cache_warmed_total',
    help: 'Public responses the warmer re-executed and stored after an epoch move (purge of everything, Redis restart or failover)',
    registers,
  });
  const cacheRefreshed = new Counter({
    name: 'lifeline_cache_refreshed_total',
    help: 'Shared responses recomputed and stored right after a write deleted them while they were being read (one instance per response)',
    registers,
  });
  const cacheErrors = new Counter({
    name: 'lifeline_cache_errors_total',
    help: 'Cache store calls that failed or timed out (the request went on from PostgreSQL), by operation',
    labelNames: ['operation'] as const,
    registers,
  });
  const invalidationDuration = new Histogram({
    name: 'lifeline_cache_invalidation_duration_seconds',
    help: 'Invalidation round trips (a mutation answers after its invalidation)',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  // Counted at the source by the cache core (cache.stats); copied here at scrape time.
  counterFrom('lifeline_cache_writes_total', 'Entries written to the cache store', () => sources.cache?.().stats.writes);
  counterFrom('lifeline_cache_writes_refused_total', 'Write-backs refused by the fence (the data changed after the reader read it)', () => sources.cache?.().stats.writesRefused);
  counterFrom('lifeline_cache_invalidations_total', 'Invalidations (one per mutation or purge, any number of tags)', () => sources.cache?.().stats.invalidations);
  counterFrom('lifeline_cache_l1_dropped_total', "L1 copies dropped on another instance's invalidation message", () => sources.cache?.().stats.l1Dropped);
  new Gauge({
    name: 'lifeline_cache_state',
    help: "1 for the cache core's current state: ok, circuit-open (store failing; skipped for a cooldown), suspended (an invalidation may have been lost; waiting for a new epoch), reconnecting (dataset not verified yet)",
    labelNames: ['state'] as const,
    registers,
    collect() {
      const health = sources.cache?.().health;
      for (const state of CACHE_STATES) this.set({ state }, health?.state === state ? 1 : 0);
    },
  });

  // The L1 (in-process copies): size and evictions, from the cache core's stats.
  gaugeFrom('lifeline_cache_l1_bytes', 'Bytes the L1 (in-process copies) holds, as its LRU sizes them; its limit is CACHE_L1_MAX_BYTES', () => sources.cache?.().stats.l1?.bytes);
  gaugeFrom('lifeline_cache_l1_entries', 'Entries in the L1', () => sources.cache?.().stats.l1?.entries);
  counterFrom('lifeline_cache_l1_evictions_total', 'L1 entries evicted to stay under its byte limit (not counting expiry or invalidation)', () => sources.cache?.().stats.l1?.evictions);

  // ---- Redis, as Redis counts it (INFO) ---------------------------------------------------------
  // Read at most every few seconds whatever the scrape rate; one series per node (Cluster: per
  // master). Redis's own counters are shown as gauges of its raw value: every instance reports
  // the same node, so aggregate with max by (node), and rate() handles a Redis restart's reset.
  const redisGauge = (name: string, help: string, pick: (n: RedisNodeInfo) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'] as const,
      registers,
      async collect() {
        const nodes = sources.redis ? await sources.redis() : [];
        this.reset();
        for (const n of nodes) this.set({ node: n.node }, pick(n));
      },
    });
  redisGauge('lifeline_redis_memory_used_bytes', 'Redis INFO used_memory', (n) => n.usedMemory);
  redisGauge('lifeline_redis_memory_peak_bytes', 'Redis INFO used_memory_peak', (n) => n.peakMemory);
  redisGauge('lifeline_redis_memory_max_bytes', 'Redis maxmemory (0: no limit)', (n) => n.maxMemory);
  redisGauge('lifeline_redis_evicted_keys', "Redis INFO evicted_keys: keys evicted under maxmemory since Redis started (a counter on Redis's side: use rate())", (n) => n.evictedKeys);
  redisGauge('lifeline_redis_expired_keys', 'Redis INFO expired_keys since Redis started (use rate())', (n) => n.expiredKeys);
  redisGauge('lifeline_redis_keyspace_hits', 'Redis INFO keyspace_hits since Redis started (use rate())', (n) => n.keyspaceHits);
  redisGauge('lifeline_redis_keyspace_misses', 'Redis INFO keyspace_misses since Redis started (use rate())', (n) => n.keyspaceMisses);

  const cache: CacheObserver = {
    read(keys, hits, seconds) {
      if (!keys.length) return;
      // A response lookup reads the public and the user's private key together: one lookup.
      const counts = new Map<string, { l1: number; l2: number; stale: number; miss: number }>();
      let responseHit: Hit<unknown> | null = null;
      let response = false;
      for (const key of keys) {
        const type = cacheKeyType(key);
        if (type === 'response') {
          response = true;
          responseHit ??= hits.get(key) ?? null;
          continue;
        }
        const hit = hits.get(key);
        let c = counts.get(type);
        if (!c) counts.set(type, (c = { l1: 0, l2: 0, stale: 0, miss: 0 }));
        if (!hit) c.miss++;
        else if (hit.stale) c.stale++;
        else c[hit.source]++;
      }
      if (response) {
        const h = responseHit as Hit<unknown> | null;
        counts.set('response', { l1: h && !h.stale && h.source === 'l1' ? 1 : 0, l2: h && !h.stale && h.source === 'l2' ? 1 : 0, stale: h?.stale ? 1 : 0, miss: h ? 0 : 1 });
      }
      for (const [rawType, c] of counts) {
        const type = typeLabel(rawType);
        if (c.l1) cacheHits.inc({ layer: 'l1', type }, c.l1);
        if (c.l2) cacheHits.inc({ layer: 'l2', type }, c.l2);
        if (c.stale) cacheStale.inc({ type }, c.stale);
        if (c.miss) cacheMisses.inc({ type }, c.miss);
      }
      if (seconds !== null) cacheReadDuration.observe({ type: typeLabel(cacheKeyType(keys[0]!)) }, seconds);
    },
    failed(operation) {
      cacheErrors.inc({ operation });
    },
    invalidated(seconds) {
      invalidationDuration.observe(seconds);
    },
  };

  // ---- SQL -------------------------------------------------------------------------------------
  const sqlStatements = new Counter({
    name: 'lifeline_sql_statements_total',
    help: 'SQL statements sent to PostgreSQL (the count the batching tests assert on)',
    registers,
  });
  const sqlDuration = new Histogram({
    name: 'lifeline_sql_statement_duration_seconds',
    help: 'SQL statements the app issued, from the driver call to the result (pool wait included)',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const sqlErrors = new Counter({
    name: 'lifeline_sql_statement_errors_total',
    help: 'SQL statements that failed',
    registers,
  });

  gaugeFrom('lifeline_db_pool_max', 'PostgreSQL pool size (connections at most)', () => sources.pool?.().max);
  gaugeFrom('lifeline_db_pool_in_use', 'PostgreSQL pool connections busy with a statement or transaction', () => sources.pool?.().inUse);
  gaugeFrom('lifeline_db_pool_waiting', 'Statements and transactions waiting for a free PostgreSQL pool connection', () => sources.pool?.().waiting);

  // ---- Redis -----------------------------------------------------------------------------------
  const redisErrors = new Counter({
    name: 'lifeline_redis_errors_total',
    help: 'Redis connection errors (ioredis "error" events; emitted on every failed reconnection attempt), by client',
    labelNames: ['client'] as const,
    registers,
  });

  // ---- live ------------------------------------------------------------------------------------
  gaugeFrom('lifeline_ws_connections', 'Open WebSocket connections', () => sources.live?.().ws.connections);
  gaugeFrom('lifeline_subscriptions_open', 'Operations open over WebSocket (subscriptions)', () => sources.live?.().ws.operations);
  counterFrom(
    'lifeline_subscription_frames_serialized_total',
    'Subscription next payloads serialized: once per event per shared execution (subscribers with the same operation, variables and viewer)',
    () => sources.live?.().ws.framesSerialized,
  );
  counterFrom('lifeline_subscription_frames_sent_total', 'Subscription next frames written to sockets: one per subscriber per event', () => sources.live?.().ws.framesSent);
  gaugeFrom('lifeline_pubsub_listeners', 'Local pub/sub listeners over all topics (one per open subscription stream)', () => sources.live?.().pubsub.listeners);
  counterFrom('lifeline_pubsub_published_total', 'Events this instance published', () => sources.live?.().pubsub.published);
  counterFrom('lifeline_pubsub_superseded_total', 'Events refused because a later version of their entity was already published', () => sources.live?.().pubsub.superseded);
  counterFrom(
    'lifeline_pubsub_gaps_recovered_total',
    'Broadcasts this instance missed without a reported disconnection (e.g. a cluster subscriber moving node) and recovered from the event log',
    () => sources.live?.().pubsub.gapsRecovered,
  );
  const deliveryLag = new Histogram({
    name: 'lifeline_pubsub_delivery_lag_seconds',
    help: "From an event's publication (the time in its log id: Redis's clock, or this process's) to its dispatch to this instance's subscribers; once per event per instance",
    labelNames: ['topic'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    sources,
    async scrape() {
      if (inWorker) {
        // Any worker may take the scrape: answer for all of them (counters and gauges summed).
        try {
          return await clusterScrape();
        } catch (err) {
          return `# lifeline: metrics of this worker only (${(err as Error).message})\n${await localScrape()}`;
        }
      }
      return localScrape();
    },

    observeRequest(s) {
      const route = ROUTES.has(s.route) ? s.route : 'other';
      requests.inc({ route, status: String(s.status) });
      if (route !== '/graphql') return;
      requestDuration.observe({ operation: s.operationName ? operationLabel(s.operationName) : ANONYMOUS, cache: s.cache ?? 'NONE' }, s.seconds);
      for (const code of s.errorCodes) graphqlErrors.inc({ code: errorCodeLabel(code) });
    },

    cache,
    cacheWarmed: () => cacheWarmed.inc(),
    cacheRefreshed: () => cacheRefreshed.inc(),

    watchDatabase(database) {
      const offCount = database.onStatement(() => sqlStatements.inc());
      const offTime = database.onStatementEnd((seconds, ok) => {
        sqlDuration.observe(seconds);
        if (!ok) sqlErrors.inc();
      });
      return () => {
        offCount();
        offTime();
      };
    },

    watchRedis(client, name) {
      client.on('error', () => redisErrors.inc({ client: name }));
    },

    observeDelivery(pubsub) {
      // The dispatcher hands one event to every local listener in turn: measure it once.
      const lastSeen = new Map<string, string>();
      const observe = (event: Envelope) => {
        if (lastSeen.get(event.topic) === event.id) return;
        lastSeen.set(event.topic, event.id);
        const publishedAt = Number(event.id.slice(0, event.id.indexOf('-')));
        if (publishedAt > 0) deliveryLag.observe({ topic: event.topic }, Math.max(0, Date.now() - publishedAt) / 1000);
      };
      return {
        ...pubsub,
        listen: (topic, listener) =>
          pubsub.listen(topic, (event) => {
            observe(event as Envelope);
            listener(event);
          }),
      };
    },
  };
}
