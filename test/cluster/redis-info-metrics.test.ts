// /metrics on Redis Cluster: Redis's own figures (INFO) are reported per master, one `node`
// label each, so a full or evicting node is visible rather than summed away.
import type { Cluster } from 'ioredis';
import { startInstance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { testRedisClient, testRedisUrl } from '../helpers/redis.js';
import { eventually } from '../subscriptions/helpers.js';

const db = useSeededDatabase();
const redis = testRedisClient() as Cluster;
afterAll(() => redis.quit());

test('lifeline_redis_* has one series per cluster master', async () => {
  await eventually('cluster client ready', () => redis.status === 'ready');
  const masters = redis.nodes('master').map((n) => `${n.options.host}:${n.options.port}`).sort();
  expect(masters).toHaveLength(3);
  const a = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl() });
  const text = await (await fetch(`${a.url}/metrics`)).text();
  for (const name of ['lifeline_redis_memory_used_bytes', 'lifeline_redis_memory_peak_bytes', 'lifeline_redis_evicted_keys', 'lifeline_redis_keyspace_hits']) {
    const series = [...text.matchAll(new RegExp(`^${name}\\{node="([^"]+)"\\} (\\S+)$`, 'gm'))];
    expect(series.map((m) => m[1]).sort()).toEqual(masters);
    for (const m of series) expect(Number(m[2])).toBeGreaterThanOrEqual(0);
  }
  const used = [...text.matchAll(/^lifeline_redis_memory_used_bytes\{node="[^"]+"\} (\S+)$/gm)];
  for (const m of used) expect(Number(m[1])).toBeGreaterThan(0);
});
