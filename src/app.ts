// Wires db, redis, auth, Apollo, http and ws. Returns { start, stop }; owns nothing global,
// so tests run several instances in one process.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { GraphQLError } from 'graphql';
import { createApolloRedisStore, PERSISTED_QUERY_TTL_SECONDS } from './cache/apollo-kv.js';
import { createCache, type Cache } from './cache/cache.js';
import { createKeyspace, isPrivateResponseKey, publicResponseHash } from './cache/keys.js';
import { createSealer } from './cache/seal.js';
import { createMemoryStore } from './cache/memory-store.js';
import { createRedisStore, logEvictionPolicy } from './cache/redis-store.js';
import { createResponseCache } from './cache/response-cache.js';
import { createWarmer } from './cache/warmer.js';
import { createAuthService } from './auth/auth-service.js';
import { createMemorySessionStore, createRedisSessionStore } from './auth/session-store.js';
import { createCredentialLimiter, createRateLimiter } from './auth/rate-limit.js';
import type { Viewer } from './auth/types.js';
import type { Config } from './config.js';
import { createDatabase, type Database } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { DEMO_SEED, isDatabaseEmpty, seedDatabase } from './db/seed.js';
import { typeMaxAges } from './graphql/cache-hints.js';
import { cachePlugin } from './graphql/cache-plugin.js';
import { createContext, type AppServices, type GraphQLContext } from './graphql/context.js';
import { formatError } from './graphql/format-error.js';
import { buildSchema } from './graphql/schema.js';
import { createOperationPreparation } from './graphql/prepare.js';
import { createCors, originAllowed } from './http/cors.js';
import { createHttpHandler, type ReplayableRequest } from './http/server.js';
import { createStaticSite, defaultDashboardDir, defaultSiteDir } from './http/static.js';
import { attachWebSocket, type WebSocketLimits, type WebSocketStats } from './http/ws.js';
import { createDashboardFeed } from './modules/dashboard/subscriptions.js';
import { cacheDeclarations } from './modules/index.js';
import { tagsOfChanges } from './cache/declare.js';
import { badInput } from './graphql/errors.js';
import { createPubSub } from './pubsub/index.js';
import type { LiveServices } from './pubsub/live.js';
import type { PubSubStats } from './pubsub/pubsub.js';
import { createPublishStep } from './pubsub/publish-step.js';
import type { SnapshotFeedStats } from './pubsub/snapshot-feed.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { createRedisInfoReader } from './observability/redis-info.js';
import { createRequestObserver } from './observability/request-log.js';
import { createRedisClient, waitForRedis, watchConnection, type RedisClient } from './redis/client.js';
import { createOutbox, type Outbox, type OutboxOptions } from './outbox.js';
import { createWritePath } from './write.js';

export interface App {
  config: Config;
  database: Database;
  /** The services every operation shares (cache, auth, ...), e.g. for metrics and tests. */
  services: AppServices;
  logger: Logger;
  /** This instance's Prometheus registry (GET /metrics). */
  metrics: Metrics;
  /** Listens on config.host:config.port (0 = a free port). */
  start(): Promise<{ url: string; port: number }>;
  /** Drains HTTP and WebSockets, closes pools. Idempotent. */
  stop(): Promise<void>;
  /** Live subscription counters: sockets, open operations, pub/sub listeners, dashboard feed. */
  liveStats(): { ws: WebSocketStats; pubsub: PubSubStats; dashboard: SnapshotFeedStats };
}

export interface AppOptions {
  logger?: Logger;
  /** Injectable clock for rules such as donor eligibility. */
  now?: () => Date;
  /** Limits and timings of live subscriptions (defaults in http/ws.ts); tests shorten them. */
  live?: Partial<WebSocketLimits> & { dashboardIntervalMs?: number };
  /**
   * TEST ONLY: switch off one consistency guard so a test can show it catches the
   * stale read the guard prevents. Never set in production code.
   */
  unsafe?: {
    skipInvalidation?: boolean;
    skipFence?: boolean;
    skipL1Validation?: boolean;
    /** The process SIGKILLs itself right after a write commits (also LIFELINE_TEST_DIE_AFTER_COMMIT=1 with NODE_ENV=test, for child processes). */
    dieAfterCommit?: boolean;
  };
  /** Timings of the invalidation relay and serving lease (defaults in outbox.ts); tests shorten them. */
  outbox?: Pick<OutboxOptions, 'pollMs' | 'leaseMs' | 'graceMs' | 'settleMs' | 'listen'>;
  /** TEST ONLY: awaited between an operation's execution and its response's write-back (a test commits a write there). */
  beforeResponseStore?: (key: string) => Promise<void>;
  /** The clock (ms) cache freshness is judged by; tests move it to expire entries without sleeping. */
  cacheClock?: () => number;
  /** Timings of the cache warmer (defaults in cache/warmer.ts); tests shorten or slow them. */
  warm?: { startDelayMs?: number; perSecond?: number; concurrency?: number };
  /** The built dashboard page served at /dashboard. Default dist/public/dashboard, written by `npm run build`. */
  dashboardDir?: string;
  /** The built offline GraphiQL page served at /graphiql outside production. Default dist/public/graphiql, written by `npm run build`. */
  graphiqlDir?: string;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? createLogger(config.logLevel);
  // Issue 5: the server cancels a statement before the request deadline does, so the common slow case ends in a clean rollback.
  const database = await createDatabase({ url: config.databaseUrl, dataDir: config.dataDir, statementTimeoutMs: Math.max(100, config.requestTimeoutMs - 2_000) });
  // Metrics: one registry per instance; SQL counted and timed from the first statement.
  const metrics = createMetrics();
  metrics.watchDatabase(database);
  // Several instances or WEB_CONCURRENCY workers may start at once: one migrates and seeds at a time.
  await database.withStartupLock(async () => {
    await runMigrations(database);
    if (config.seedDemoData && (await isDatabaseEmpty(database.db))) {
      const summary = await seedDatabase(database.db, DEMO_SEED);
      logger.info({ summary }, 'seeded demo data into the empty database');
    }
  });

  const redis: RedisClient | null = config.redisUrl
    ? createRedisClient({ url: config.redisUrl, cluster: config.redisCluster, name: 'main', logger, tlsCa: config.redisTlsCa })
    : null;
  if (redis) metrics.watchRedis(redis, 'main');
  // Two roles: the cache (volatile, may evict) on CACHE_REDIS_URL when given; sessions, rate
  // limits and events always on REDIS_URL (durable, never evicts). One URL serves both roles.
  const cacheRedisUrl = config.cacheRedisUrl ?? config.redisUrl;
  const cacheRedisCluster = config.cacheRedisUrl ? config.cacheRedisCluster : config.redisCluster;
  const cacheRedis: RedisClient | null = config.cacheRedisUrl
    ? createRedisClient({ url: config.cacheRedisUrl, cluster: config.cacheRedisCluster, name: 'cache', logger, tlsCa: config.redisTlsCa })
    : redis;
  if (cacheRedis && cacheRedis !== redis) metrics.watchRedis(cacheRedis, 'cache');
  const auth = createAuthService({
    store: redis ? createRedisSessionStore({ redis, prefix: config.cachePrefix }) : createMemorySessionStore(),
    secret: config.jwtSecret,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    // With Redis down every query and mutation must still succeed. A signed, unexpired
    // token is admitted then, unless this instance itself saw its session revoked; the cost is
    // that a logout made on another instance during the outage holds only once Redis is back.
    onRevocationCheckError: 'allow',
    logger,
  });
  const schema = buildSchema();
  const maxAges = typeMaxAges(schema);

  // ---- live subscriptions -----------------------------------------------------------
  // One pub/sub engine (Redis with REDIS_URL, else in-process) and the dashboard's coalesced
  // feed. The publish step runs AFTER the cache's invalidation step in the write path below
  // ("invalidate, then publish"); ws.ts serves the subscriptions; stop() closes this after ws.
  // The first requests should find the cache connected: a cluster client needs a moment to learn
  // the topology, and a cache read before that fails and opens the cache's breaker for a second.
  // Waited for alongside the pub/sub clients, within the same bound; never fatal.
  const redisReady = Promise.all(
    [...new Set([redis, cacheRedis])].map((client) =>
      client ? waitForRedis(client, 5000).catch((err: Error) => logger.warn({ err: err.message }, 'redis not ready at start; the cache stays off until it is')) : null,
    ),
  );
  const pubsub = await createPubSub({ redisUrl: config.redisUrl, redisCluster: config.redisCluster, redisTlsCa: config.redisTlsCa, prefix: config.cachePrefix, logger });
  await redisReady;
  const live: LiveServices = {
    pubsub: metrics.observeDelivery(pubsub), // subscriptions listen through it: delivery lag metric
    feeds: {
      dashboardStatsUpdated: createDashboardFeed({ pubsub, database, now: () => services.now(), logger, intervalMs: options.live?.dashboardIntervalMs }),
    },
  };
  const publishStep = createPublishStep(pubsub, logger);
  const closeLive = async () => {
    live.feeds.dashboardStatsUpdated.close();
    await pubsub.close();
  };
  // ---- end of live subscriptions --------------------------------------------------------------

  // ---- cache ------------------------------------------------------------------------------
  const cache: Cache | null =
    config.cacheMode === 'off'
      ? null
      : createCache({
          store: cacheRedis
            ? createRedisStore(cacheRedis, createKeyspace(config.cachePrefix), { unsafeSkipFence: options.unsafe?.skipFence })
            : createMemoryStore({ unsafeSkipFence: options.unsafe?.skipFence }),
          logger,
          l1MaxBytes: config.cacheL1Mb * 1024 * 1024,
          timeoutMs: config.cacheTimeoutMs,
          unsafeSkipL1Validation: options.unsafe?.skipL1Validation,
          now: options.cacheClock,
          observer: metrics.cache,
          // Serve from the shared cache only while holding a serving lease (outbox.ts).
          canServe: () => outbox?.canServe() ?? false,
          // Private responses are encrypted at rest in Redis (docs/privacy.md).
          sealer: createSealer(config.cacheEncryptionKey, isPrivateResponseKey),
        });
  // ---- invalidation outbox, relay and serving lease -------------------------------------------
  // The relay polls on a small pool of its own: its statements are not the requests' (the SQL
  // counters and per-request statement counts stay about requests). PGlite is one process: shared.
  const relayDatabase =
    cache && database.driver === 'postgres'
      ? await createDatabase({ url: config.databaseUrl, maxConnections: 2, statementTimeoutMs: Math.max(100, config.requestTimeoutMs - 2_000) })
      : database;
  const outbox: Outbox | null = cache
    ? createOutbox({
        database,
        relayDatabase,
        keyspace: config.cachePrefix,
        apply: (tags) => cache.tryInvalidate(tags),
        tagsOfChanges: (stored) => tagsOfChanges(cacheDeclarations.decodeChanges(stored)),
        // The cache's Redis: it is the one whose invalidations the lease vouches for.
        probe: async () => {
          if (!cacheRedis) return;
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([
              cacheRedis.ping(),
              new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('redis did not answer PING')), config.cacheTimeoutMs))),
            ]);
          } finally {
            clearTimeout(timer);
          }
        },
        logger,
        ...options.outbox,
      })
    : null;
  // ---- end of invalidation outbox ----------------------------------------------------------------
  // Told of the shared responses each invalidation deleted, this instance's and (over the channel
  // below) every other instance's: the refresher recomputes the hot ones.
  let refreshDropped = (_dropped: string[]): void => {};
  // Tells the other instances (set below when there is a Redis to tell them through).
  // Returns whether the dropped keys were broadcast.
  let broadcastInvalidation = (_tags: string[], _dropped: string[]): boolean => false;
  if (cache) {
    cache.onInvalidated = (tags, dropped) => {
      // Broadcast, the dropped keys come back to this instance's own subscriber too: refreshed once, from there.
      if (!broadcastInvalidation(tags, dropped)) refreshDropped(dropped);
    };
  }
  let l1Subscriber: RedisClient | null = null;
  if (cache && cacheRedis && (config.cacheL1Mb > 0 || config.cacheRefresh)) {
    // Tell every instance to drop its L1 copies of what was just invalidated (memory hygiene;
    // correctness does not wait for this message: L1 copies are validated on every use), and
    // which shared responses were deleted (an instance that served one recently may refresh it).
    const channel = `${config.cachePrefix}cache:invalidated`;
    // Apart from the tags (whose newline-separated format CDN purgers read): the shared response
    // keys an invalidation deleted, which instances may refresh and drop from L1.
    const droppedChannel = `${config.cachePrefix}cache:dropped`;
    l1Subscriber = createRedisClient({ url: cacheRedisUrl!, cluster: cacheRedisCluster, name: 'cache-l1', logger, failFast: false, tlsCa: config.redisTlsCa });
    metrics.watchRedis(l1Subscriber, 'cache-l1');
    l1Subscriber.on('message', (from: string, message: string) => {
      const keys = message.split('\n');
      cache.dropLocal(keys);
      if (from === droppedChannel) refreshDropped(keys);
    });
    void l1Subscriber.subscribe(channel, droppedChannel).catch((err: Error) => logger.warn({ err: err.message }, 'cache L1 drop channel unavailable'));
    broadcastInvalidation = (tags, dropped) => {
      void cacheRedis.publish(channel, tags.join('\n')).catch(() => {});
      if (!dropped.length || !config.cacheRefresh) return false;
      void cacheRedis.publish(droppedChannel, dropped.join('\n')).catch(() => {});
      return true;
    };
  }
  if (cache && cacheRedis) {
    // A restarted or failed-over Redis gets a new run_id: the cache then moves to a new epoch.
    watchConnection(cacheRedis, { down: () => cache.onDisconnect(), up: () => void cache.onReconnect() });
    // Already connected (start-up awaited the pub/sub clients meanwhile)? Then 'ready' has passed.
    // Not yet: asking now would only fail and open the cache's circuit breaker for a second.
    if (cacheRedis.status === 'ready') void cache.onReconnect();
    // The memory limit and eviction policy, once (eviction is safe; noeviction without a limit grows unbounded).
    void logEvictionPolicy(cacheRedis, logger);
  }
  const responseCache = cache && config.cacheMode === 'full' ? createResponseCache({ cache, beforeStore: options.beforeResponseStore }) : null;
  // ---- warming: after an epoch move, one instance replays the hottest public requests over its own
  // HTTP port, so each goes through the normal path (lookup, fence, policy) and is stored under the
  // new epoch exactly as a client's miss would be. Its own replays are not counted as traffic.
  const warmHeader = randomBytes(12).toString('hex');
  const warmer =
    cache && responseCache && (config.cacheWarmTop > 0 || config.cacheRefresh)
      ? createWarmer<ReplayableRequest>({
          top: config.cacheWarmTop,
          ...options.warm,
          logger,
          onWarmed: () => metrics.cacheWarmed(),
          onRefreshed: () => metrics.cacheRefreshed(),
          // One instance recomputes each dropped response; the lease outlives a slow replay only briefly.
          claimRefresh: config.cacheRefresh
            ? async (key) => {
                const release = await cache.tryLease(cache.newScope(), `refresh:${key}`, 2_000);
                return typeof release === 'function' ? release : false;
              }
            : undefined,
          // Held for the epoch's first minutes and never released: one instance refills each epoch.
          claim: async (epoch) => typeof (await cache.tryLease({ ...cache.newScope(), epoch }, 'warm', 600_000)) === 'function',
          execute: async (request) => {
            const address = httpServer.address() as AddressInfo | null;
            if (!address) return false;
            const host = ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
            const response = await fetch(`http://${host}:${address.port}/graphql${request.method === 'GET' ? request.search : ''}`, {
              method: request.method,
              headers: { accept: request.accept, 'x-lifeline-warm': warmHeader, 'apollo-require-preflight': 'true', ...(request.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
              body: request.method === 'POST' ? request.body : undefined,
              signal: AbortSignal.timeout(config.requestTimeoutMs + 1_000),
            });
            await response.arrayBuffer();
            return /;\s*stored\b/.test(response.headers.get('cache-status') ?? '');
          },
        })
      : null;
  if (cache && warmer) {
    cache.onEpochMoved = (epoch) => warmer.epochMoved(epoch);
    refreshDropped = (dropped) => warmer.dropped(dropped.map(publicResponseHash).filter((h): h is string => h !== null));
  }
  // ---- end of warming -----------------------------------------------------------------------
  // First relay round (bounded): applies what is outstanding and takes the lease, so the cache serves from the first request.
  await outbox?.start();
  // One write path: transaction + outbox row → commit → invalidate → publish → answer.
  const writePath = createWritePath({
    database,
    cache,
    outbox,
    publish: publishStep, // live subscriptions: after invalidation (see above)
    logger,
    declarations: cacheDeclarations,
    ttlMs: (type) => (maxAges[type] ?? 0) * 1000,
    unsafeSkipInvalidation: options.unsafe?.skipInvalidation,
    dieAfterCommit: options.unsafe?.dieAfterCommit ?? (config.nodeEnv === 'test' && process.env.LIFELINE_TEST_DIE_AFTER_COMMIT === '1'),
  });

  const services: AppServices = {
    database,
    auth,
    logger,
    cache,
    cacheMode: config.cacheMode,
    cacheTtlMs: (type) => (maxAges[type] ?? 0) * 1000,
    // Invalidation completes (Redis acknowledged it, or every other serving instance applied it) before the mutation answers.
    write: writePath.write,
    publish: writePath.publish,
    purgeCache: async (type, id) => {
      // What may be purged is what is declared (modules/*/cache.ts); unknown types are refused even with the cache off.
      const purge = type === '*' ? null : cacheDeclarations.purgeTags(type, id);
      if (purge && 'error' in purge) throw badInput(purge.error, purge.field);
      if (!cache) return 0;
      if (type === '*') {
        // Everything: a new epoch orphans every entry (they expire by TTL); their number is unknown.
        await cache.bumpEpoch();
        return 0;
      }
      return cache.invalidate(purge!.tags);
    },
    now: options.now ?? (() => new Date()),
  };
  // ---- abuse limits ----------------------------------------------------------------------------------
  // Per-user / per-IP request budgets and a harder one for sign-in and registration, shared
  // by every instance through Redis (each instance on its own without it, or while it is down).
  const rateLimiter =
    config.rateLimitPerMinute > 0 ? createRateLimiter({ redis, keyPrefix: `${config.cachePrefix}rl:req:`, points: config.rateLimitPerMinute }) : null;
  const credentialLimiter =
    config.rateLimitPerMinute > 0
      ? createCredentialLimiter(createRateLimiter({ redis, keyPrefix: `${config.cachePrefix}rl:auth:`, points: config.loginRateLimitPerMinute }))
      : null;
  // ---- end of abuse limits ----------------------------------------------------------------------

  const httpServer = createServer();
  // One preparation (parse, validation, limits, codes) and one error formatting for HTTP and WebSocket.
  const preparation = createOperationPreparation(schema);
  const formatErrors = formatError({ maskInternal: config.nodeEnv !== 'development', logger });
  const isProduction = config.nodeEnv === 'production';
  // Persisted queries (APQ) in Redis when there is one, so every instance knows every registered query.
  const apolloStore = config.redisUrl
    ? createApolloRedisStore({ url: config.redisUrl, cluster: config.redisCluster, prefix: config.cachePrefix, timeoutMs: config.cacheTimeoutMs, logger })
    : null;
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    ...(apolloStore ? { cache: apolloStore, persistedQueries: { ttl: PERSISTED_QUERY_TTL_SECONDS } } : {}),
    introspection: !isProduction,
    csrfPrevention: true,
    // Depth and alias limits (the cost limit is a plugin below); a refused document never executes, so never enters the response cache.
    // Parse bound and validation rules shared with the WebSocket (graphql/prepare.ts).
    ...preparation.apolloOptions,
    // main.ts owns SIGTERM: Apollo's own handler would race it and hang app.stop().
    stopOnTerminationSignals: false,
    // Never by default: stack traces name server paths, and expected errors (UNAUTHENTICATED, BAD_USER_INPUT) have no use for them.
    includeStacktraceInErrorResponses: config.includeStacktrace,
    formatError: formatErrors,
    plugins: [
      ApolloServerPluginCacheControl({ defaultMaxAge: 0, calculateHttpHeaders: true }),
      cachePlugin(cacheDeclarations.taggers),
      ...preparation.plugins, // the cost limit, once the variables are known
      ...(credentialLimiter ? [credentialLimiter.plugin] : []),
      isProduction ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
    ],
  });
  await apollo.start();

  // Auth failures end the whole request with the matching HTTP status.
  const withHttpStatus = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof GraphQLError) {
        const status = err.extensions.code === 'UNAUTHENTICATED' ? 401 : 503;
        throw new GraphQLError(err.message, { extensions: { ...err.extensions, http: { status } } });
      }
      throw err;
    }
  };
  const authenticate = (authorization: string | undefined) => withHttpStatus(() => auth.authenticate(authorization));
  httpServer.on(
    'request',
    createHttpHandler({
      apollo,
      verify: (authorization) => withHttpStatus(() => auth.verify(authorization)),
      checkSession: (viewer) => withHttpStatus(() => auth.checkSession(viewer)),
      context: (viewer, requestId, request) => createContext(services, viewer, requestId, request),
      rateLimit: rateLimiter ? (key) => rateLimiter.consume(key) : undefined,
      trustedProxies: config.trustProxy,
      requestTimeoutMs: config.requestTimeoutMs,
      responseCache,
      rememberPublic: warmer ? (hash, request) => warmer.remember(hash, request) : undefined,
      internalRequest: (req) => req.headers['x-lifeline-warm'] === warmHeader,
      cdnTags: config.cdnTags,
      readiness: [
        { name: 'postgres', ping: () => database.ping() },
        ...(redis ? [{ name: 'redis', optional: true, ping: async () => void (await redis.ping()) }] : []),
        ...(cacheRedis && cacheRedis !== redis ? [{ name: 'cache-redis', optional: true, ping: async () => void (await cacheRedis.ping()) }] : []),
        ...(cache
          ? [
              {
                name: 'cache',
                optional: true,
                ping: async () => {
                  const { usable, reason } = cache.health();
                  if (!usable) throw new Error(reason ?? 'cache suspended');
                },
              },
            ]
          : []),
      ],
      // The live dashboard page: static files built by dashboard/build.ts.
      dashboard: createStaticSite({
        root: options.dashboardDir ?? defaultDashboardDir(),
        mountPath: '/dashboard',
        buildHint: 'Run `npm run build` (or `npm start`, which builds it).',
        logger,
      }),
      // GraphiQL served from this server, for exploring the schema with no internet access (the
      // Sandbox landing page loads from Apollo's CDN). Off in production, like introspection.
      graphiql: isProduction
        ? undefined
        : createStaticSite({
            root: options.graphiqlDir ?? defaultSiteDir('graphiql'),
            mountPath: '/graphiql',
            buildHint: 'Run `npm run build` (or `npm start`, which builds it).',
            // Monaco (GraphiQL's editor) writes inline styles and runs web workers from our own origin.
            contentSecurityPolicy:
              "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; worker-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            logger,
          }),
      maxBodyBytes: config.maxBodyBytes,
      now: cache?.now,
      logger,
      // One log line and one metrics sample per request; GET /metrics.
      observe: createRequestObserver({ logger, metrics }),
      metrics,
      cors: createCors(config.corsOrigins),
      checkSource: preparation.checkSource,
    }),
  );
  const ws = attachWebSocket({
    httpServer,
    schema,
    preparation,
    formatError: formatErrors,
    authenticate,
    context: (viewer, request) => createContext(services, viewer, `ws-${Date.now().toString(36)}`, request),
    checkCredentials: credentialLimiter?.check, // sign-in and sign-up limits, as over HTTP
    live, // live subscriptions
    limits: options.live,
    trustedProxies: config.trustProxy, // the per-address limit counts clients, not the load balancer
    originAllowed: (origin, host) => originAllowed(config.corsOrigins, origin, host), // as for HTTP (http/cors.ts)
    logger,
  });
  // Gauges read these at scrape time.
  metrics.sources.cache = cache ? () => ({ stats: cache.stats, health: cache.health() }) : undefined;
  metrics.sources.live = () => ({ ws: ws.stats(), pubsub: pubsub.stats() });
  // Redis INFO at most every few seconds however often /metrics is scraped; the pool as counted.
  // The cache's Redis: its memory and evictions are what the cache's health turns on (the same server when one URL is set).
  if (cacheRedis) metrics.sources.redis = createRedisInfoReader(cacheRedis, { maxAgeMs: 5_000 }).read;
  metrics.sources.pool = database.pool;

  let stopping: Promise<void> | undefined;
  return {
    config,
    database,
    services,
    logger,
    metrics,
    liveStats: () => ({ ws: ws.stats(), pubsub: pubsub.stats(), dashboard: live.feeds.dashboardStatsUpdated.stats() }),
    async start() {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const { port } = httpServer.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return { url: `http://${host}:${port}`, port };
    },
    stop() {
      stopping ??= (async () => {
        warmer?.stop();
        // Order: refuse new work, close subscribers with a code, let in-flight requests
        // finish (bounded), then close the pools they were using.
        const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await ws.close();
        httpServer.closeIdleConnections();
        const forceAfter = setTimeout(() => httpServer.closeAllConnections(), 5000);
        await closed;
        clearTimeout(forceAfter);
        await apollo.stop();
        await apolloStore?.close();
        await auth.close();
        await outbox?.stop(); // after the drain: marks what in-flight writes applied, drops the lease
        cache?.close();
        await closeLive(); // after the HTTP drain: in-flight mutations have published
        await Promise.allSettled([
          database.close(),
          relayDatabase !== database ? relayDatabase.close() : null,
          redis?.quit(),
          cacheRedis !== redis ? cacheRedis?.quit() : undefined,
          l1Subscriber?.quit(),
        ]);
      })();
      return stopping;
    },
  };
}

