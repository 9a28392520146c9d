import type { Redis } from 'ioredis';
import type { RedisClient } from '../../src/redis/client.js';

/** Test-only keyspace scan under a test's unique prefix: production code never enumerates keys. */
export async function scanPrefix(redis: RedisClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await (redis as Redis).scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

/** Every key under the prefix with its PTTL in ms (-1: no TTL). */
export async function ttlsUnder(redis: RedisClient, prefix: string): Promise<Record<string, number>> {
  const keys = await scanPrefix(redis, prefix);
  const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
  return Object.fromEntries(keys.map((k, i) => [k, ttls[i]!]));
}
