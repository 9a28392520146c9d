import type { RedisClient } from '../../src/redis/client.js';
import { scanKeys } from '../helpers/redis.js';

/** Test-only keyspace scan under a test's unique prefix (every master of a cluster): production code never enumerates keys. */
export async function scanPrefix(redis: RedisClient, prefix: string): Promise<string[]> {
  return (await scanKeys(redis, `${prefix}*`)).sort();
}

/** Every key under the prefix with its PTTL in ms (-1: no TTL). */
export async function ttlsUnder(redis: RedisClient, prefix: string): Promise<Record<string, number>> {
  const keys = await scanPrefix(redis, prefix);
  const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
  return Object.fromEntries(keys.map((k, i) => [k, ttls[i]!]));
}
