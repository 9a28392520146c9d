// Redis client factory. Standalone or Cluster from one URL setting; clients are
// passed to whoever needs them, never imported as globals.
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from '../observability/logger.js';

export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** redis://, rediss://, or a comma-separated node list for a cluster. */
  url: string;
  cluster?: boolean;
  /** Labels this connection in logs (e.g. "cache", "publisher", "subscriber"). */
  name: string;
  logger: Logger;
  /** Fail commands instead of queueing them while disconnected. Default true: a request must never wait on a dead Redis. */
  failFast?: boolean;
  /** Per-command timeout in ms. Default 500: a hung Redis must cost a request little. */
  commandTimeoutMs?: number;
  /** PEM of the CA that signed the servers' certificates (REDIS_TLS_CA_FILE); used with rediss:// only. */
  tlsCa?: string;
}

/**
 * What a node list's connections authenticate and encrypt with. Every node of a cluster is reached
 * with the first URL's ACL user, password and TLS setting: a cluster has one ACL and one TLS
 * setup, and nodes learned from CLUSTER SLOTS come without credentials of their own.
 */
export function connectionSettings(url: string, tlsCa?: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const first = new URL(url.split(',')[0]!.trim());
  const secure = first.protocol === 'rediss:';
  return {
    username: first.username ? decodeURIComponent(first.username) : undefined,
    password: first.password ? decodeURIComponent(first.password) : undefined,
    ...(secure ? { tls: tlsCa ? { ca: tlsCa } : {} } : {}),
  };
}

export function createRedisClient(options: RedisClientOptions): RedisClient {
  const { url, name, logger } = options;
  const failFast = options.failFast ?? true;
  const common: RedisOptions = {
    connectionName: `lifeline:${name}`,
    lazyConnect: false,
    // Commands issued while disconnected fail at once instead of piling up in memory.
    enableOfflineQueue: !failFast,
    maxRetriesPerRequest: failFast ? 1 : null,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: 2000,
    // Reconnect with capped backoff forever; callers see errors meanwhile.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
  const nodes = url.split(',').map((u) => u.trim());
  const client: RedisClient =
    options.cluster || nodes.length > 1
      ? new Cluster(
          nodes.map((n) => {
            const parsed = new URL(n);
            return { host: parsed.hostname, port: Number(parsed.port || 6379) };
          }),
          {
            // Applied to every node connection, the seeds and those discovered later alike.
            redisOptions: { ...common, ...connectionSettings(url, options.tlsCa) },
            enableOfflineQueue: !failFast,
          },
        )
      : new Redis(url, { ...common, ...connectionSettings(url, options.tlsCa) });
  let lastError = '';
  client.on('error', (err: Error) => {
    // ioredis emits the same error on every retry; log each distinct one once.
    if (err.message !== lastError) logger.warn({ redis: name, err: err.message }, 'redis error');
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError) logger.info({ redis: name }, 'redis reconnected');
    lastError = '';
  });
  return client;
}

/** Waits until the client is ready, or throws after timeoutMs. */
export async function waitForRedis(client: RedisClient, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/**
 * Tells a dataset's watcher (the cache's run_id check) when a connection that may hold its data
 * dropped (`down`) and when to verify it (`up`). A standalone client reports its own close and
 * ready. A Cluster client stays "ready" while one node restarts or fails over (it drops the
 * node's connection and reroutes), so there a lost node also calls `down` and then `up` at once:
 * the watcher asks the slot's current owner who it is, retrying until it can.
 */
export function watchConnection(client: RedisClient, handlers: { down(): void; up(): void }): void {
  client.on('close', handlers.down);
  client.on('ready', handlers.up);
  if (client instanceof Cluster) {
    client.on('-node', () => {
      // While the client is still (re)connecting it drops and re-adds nodes as it learns the
      // topology (a single seed node is replaced by the discovered ones); its 'ready' verifies.
      if (client.status !== 'ready') return;
      handlers.down();
      handlers.up();
    });
  }
}
