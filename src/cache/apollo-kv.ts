// Apollo's own key-value cache (what it keeps automatic persisted queries in) in Redis, so a query
// registered through one instance is found by hash on every other one behind the balancer: the
// design card's KeyvAdapter over Keyv over @keyv/redis, under CACHE_PREFIX, every entry with a TTL.
//
// Persisted queries are an optimisation, never a dependency: a Redis that errs or is slow makes a
// lookup a miss within `timeoutMs` (the client then sends the full query: APQ's normal recovery,
// PERSISTED_QUERY_NOT_FOUND), and a failed registration is dropped.
import { KeyvAdapter } from '@apollo/utils.keyvadapter';
import KeyvRedis, { createClient, createCluster } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { Logger } from '../observability/logger.js';

/** How long a registered query is kept after its last registration (Apollo refreshes it on every register). */
export const PERSISTED_QUERY_TTL_SECONDS = 24 * 60 * 60;

export interface ApolloKeyValueStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: { ttl?: number | null }): Promise<void>;
  delete(key: string): Promise<boolean | void>;
  close(): Promise<void>;
}

export interface ApolloRedisStoreOptions {
  /** REDIS_URL: one redis:// URL, or several (comma-separated) for a cluster. */
  url: string;
  cluster: boolean;
  /** CACHE_PREFIX: keys are `<prefix>apollo:<Apollo's key>`, e.g. `lifeline:apollo:apq:<sha256>`. */
  prefix: string;
  /** A lookup taking longer is a miss. */
  timeoutMs: number;
  logger: Logger;
}

export function createApolloRedisStore(options: ApolloRedisStoreOptions): ApolloKeyValueStore {
  let warned = 0;
  const onError = (err: unknown) => {
    // Once a minute at most: a Redis outage would otherwise log once per request.
    if (Date.now() - warned > 60_000) {
      warned = Date.now();
      options.logger.warn({ err: (err as Error)?.message ?? String(err) }, 'persisted query store unavailable; lookups are misses');
    }
  };
  const urls = options.url.split(',').map((u) => u.trim());
  // The client is made here so its own 'error' events have a listener: node-redis emits one per
  // failed (re)connection, and an unlistened 'error' event would end the process.
  const client = options.cluster
    ? createCluster({ rootNodes: urls.map((url) => ({ url })) })
    : createClient({ url: urls[0]!, socket: { connectTimeout: 5_000, reconnectStrategy: (attempts: number) => Math.min(100 * 2 ** attempts, 2_000) } });
  client.on('error', (err: unknown) => onError(err));
  // node-redis's generic parameters differ between its factory and KeyvRedis's signature only.
  const store = new KeyvRedis(client as unknown as ConstructorParameters<typeof KeyvRedis>[0]);
  // Keyv's own namespace prefix is off: the key is exactly the prefixed one below (one keyspace layout).
  const keyv = new Keyv<string>({ store, useKeyPrefix: false, ttl: PERSISTED_QUERY_TTL_SECONDS * 1000 });
  keyv.namespace = undefined; // and the store's ("keyv::" by default)
  keyv.on('error', onError);
  store.on('error', onError);
  const adapter = new KeyvAdapter<string>(keyv);
  const key = (k: string) => `${options.prefix}apollo:${k}`;

  const bounded = <T>(work: Promise<T>, fallback: T): Promise<T> =>
    new Promise<T>((resolve) => {
      const timer = setTimeout(() => resolve(fallback), options.timeoutMs);
      work.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          onError(err);
          resolve(fallback);
        },
      );
    });

  return {
    get: (k) => bounded(adapter.get(key(k)), undefined),
    set: (k, value, opts) => bounded(adapter.set(key(k), value, { ttl: opts?.ttl ?? PERSISTED_QUERY_TTL_SECONDS }), undefined),
    delete: (k) => bounded(adapter.delete(key(k)), false),
    // Forced: a graceful QUIT would wait for a Redis that may be down (and reconnecting) forever.
    close: () => bounded(store.disconnect(true), undefined),
  };
}
