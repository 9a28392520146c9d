// Picks the engine from configuration and owns what it opens: with REDIS_URL, two dedicated
// connections (publish, subscribe); without, the in-process engine (one instance).
import type { Logger } from '../observability/logger.js';
import { createRedisClient } from '../redis/client.js';
import { createMemoryPubSub } from './memory.js';
import type { PubSub, RetentionOptions } from './pubsub.js';
import { createRedisPubSub } from './redis.js';

export type { Envelope, PubSub } from './pubsub.js';

export interface PubSubConfig extends RetentionOptions {
  /** REDIS_URL; unset selects the in-process engine. */
  redisUrl: string | undefined;
  redisCluster: boolean;
  /** REDIS_TLS_CA_FILE's PEM, for rediss:// URLs. */
  redisTlsCa?: string;
  /** CACHE_PREFIX: instances sharing it share events. */
  prefix: string;
  logger: Logger;
  /** How long start-up waits for the first subscription to Redis before going on without it. Default 5 s. */
  readyTimeoutMs?: number;
}

export async function createPubSub(config: PubSubConfig): Promise<PubSub> {
  const { redisUrl, logger } = config;
  if (!redisUrl) return createMemoryPubSub({ logger, maxEvents: config.maxEvents, maxAgeMs: config.maxAgeMs });

  const publishClient = createRedisClient({ url: redisUrl, cluster: config.redisCluster, name: 'publisher', logger, tlsCa: config.redisTlsCa });
  // Not fail-fast: while Redis is away its SUBSCRIBE waits and is replayed on reconnection.
  const subscribeClient = createRedisClient({ url: redisUrl, cluster: config.redisCluster, name: 'subscriber', logger, failFast: false, tlsCa: config.redisTlsCa });
  const engine = createRedisPubSub({
    publishClient,
    subscribeClient,
    prefix: config.prefix,
    logger,
    maxEvents: config.maxEvents,
    maxAgeMs: config.maxAgeMs,
  });
  // Events published after start() returns must reach this instance's subscribers: wait for the
  // first sync, but never hang start-up on a dead Redis (the engine keeps retrying).
  const timeoutMs = config.readyTimeoutMs ?? 5000;
  let timer: NodeJS.Timeout | undefined;
  const synced = await Promise.race([
    engine.ready().then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!synced) logger.warn({ timeoutMs }, 'pubsub: not subscribed to Redis yet; live events will flow once it is reachable');

  return {
    ...engine,
    async close() {
      await engine.close();
      // QUIT lets in-flight publishes finish; the subscriber has nothing to finish, and QUIT on a
      // client that is still reconnecting would wait for the reconnection.
      subscribeClient.disconnect();
      await publishClient.quit().catch(() => publishClient.disconnect());
    },
  };
}
