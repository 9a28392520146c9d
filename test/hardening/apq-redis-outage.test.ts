// Persisted queries live in Redis, but are never a dependency: with that Redis hung (SIGSTOP) or
// killed, a lookup by hash is a miss within the cache timeout (PERSISTED_QUERY_NOT_FOUND, after
// which Apollo Client resends the full query), and the full query is answered. A private
// redis-server, so pausing and killing it hurts no other test.
import { createHash } from 'node:crypto';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';

const db = useSeededDatabase();
let redis: PrivateRedis;
let server: Instance;
const TIMEOUT_MS = 300;

beforeAll(async () => {
  redis = await startPrivateRedis();
  server = await startInstance({ databaseUrl: db().url, redisUrl: redis.url, env: { CACHE_MODE: 'entity', CACHE_TIMEOUT_MS: String(TIMEOUT_MS) } });
}, 60_000);

const query = '{ hospitals { id name } }';
const hash = createHash('sha256').update(query).digest('hex');

async function apq(withQuery: boolean) {
  const started = Date.now();
  const res = await fetch(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...(withQuery ? { query } : {}), extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await res.json()) as { data?: { hospitals: unknown[] }; errors?: { extensions?: { code?: string } }[] };
  return { ms: Date.now() - started, code: body.errors?.[0]?.extensions?.code, data: body.data };
}

test.each(['hung', 'killed'] as const)('with its Redis %s, a hash lookup is a prompt miss and the full query is answered', async (fault) => {
  if (fault === 'killed') await redis.restart(); // a fresh, empty server after the hung case
  expect((await apq(true)).data?.hospitals.length).toBeGreaterThan(0); // registered
  if (fault === 'hung') redis.pause();
  else await redis.kill();
  try {
    const miss = await apq(false);
    expect(miss.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    // The lookup's bound, plus room for a busy machine; never the client's 10 s abort.
    expect(miss.ms).toBeLessThan(TIMEOUT_MS + 2_000);
    const full = await apq(true);
    expect(full.code).toBeUndefined();
    expect(full.data?.hospitals.length).toBeGreaterThan(0);
  } finally {
    if (fault === 'hung') redis.resume();
    else await redis.restart(); // the instance then stops against a live server, as it would in production
  }
});
