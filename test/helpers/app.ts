// Real server instances on free ports, spoken to over HTTP and WebSocket (ARCHITECTURE 16).
// Every instance is registered and stopped after the file, even when a test forgets to.
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { testRedisUrl, uniqueCachePrefix } from './redis.js';

/** Shared by every instance so a token issued by one is accepted by another. */
export const TEST_JWT_SECRET = 'lifeline-test-jwt-secret-0123456789abcde';

export interface StartOptions {
  databaseUrl: string;
  /** redis:// URL; null or omitted = in-process cache and pub/sub. */
  redisUrl?: string | null;
  /** Extra or overriding environment (e.g. CACHE_PREFIX to make two instances share a cache). */
  env?: Record<string, string>;
  /** createApp options (e.g. the test-only `unsafe` guard switches). */
  appOptions?: AppOptions;
}

export interface Instance {
  app: App;
  /** http://127.0.0.1:port */
  url: string;
  /** http://127.0.0.1:port/graphql */
  graphqlUrl: string;
  /** ws://127.0.0.1:port/graphql */
  wsUrl: string;
  port: number;
  /** Idempotent. */
  stop(): Promise<void>;
}

const instances = new Set<Instance>();

// Registered at import, i.e. before the file's own afterAll hooks (which run in declaration
// order), so servers close before e.g. useTestDatabase drops their database.
if (typeof afterAll === 'function') afterAll(() => stopAllInstances());

export async function startInstance(opts: StartOptions): Promise<Instance> {
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl,
    ...(opts.redisUrl ? { REDIS_URL: opts.redisUrl } : {}),
    CACHE_PREFIX: opts.env?.CACHE_PREFIX ?? uniqueCachePrefix(),
    JWT_SECRET: TEST_JWT_SECRET,
    RATE_LIMIT_PER_MINUTE: '0',
    // The suite shares two cores among many servers: event-loop lag alone can exceed the production
    // default of 250 ms and turn hits into misses. Fault tests that measure the bound set their own.
    CACHE_TIMEOUT_MS: '1000',
    LOG_LEVEL: 'silent',
    ...opts.env,
  };
  const app = await createApp(loadConfig(env), opts.appOptions);
  let port: number;
  try {
    ({ port } = await app.start());
  } catch (err) {
    await app.stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const instance: Instance = {
    app,
    url,
    graphqlUrl: `${url}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    port,
    stop: () =>
      (stopped ??= (async () => {
        instances.delete(instance);
        await app.stop();
      })()),
  };
  instances.add(instance);
  return instance;
}

/**
 * Two instances of one deployment: the same database, the same Redis and one cache prefix, so
 * what one writes, caches or revokes the other sees. aOptions tunes the first one only.
 */
export async function startSharedRedisPair(databaseUrl: string, aOptions?: AppOptions): Promise<[Instance, Instance]> {
  const env = { CACHE_PREFIX: uniqueCachePrefix() };
  return Promise.all([
    startInstance({ databaseUrl, redisUrl: testRedisUrl(), env, appOptions: aOptions }),
    startInstance({ databaseUrl, redisUrl: testRedisUrl(), env }),
  ]);
}

export async function stopAllInstances(): Promise<void> {
  const results = await Promise.allSettled([...instances].map((i) => i.stop()));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}
