// GraphQL over HTTP conformance, judged by graphql-http's audit suite (the spec's reference
// implementation): every MUST and every SHOULD audit passes against a real instance with the
// full-response cache on, so a cached path cannot drift from the spec either.
import { auditServer, type AuditResult } from 'graphql-http';
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
let app: Instance;

beforeAll(async () => {
  app = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: uniqueCachePrefix(), CACHE_MODE: 'full' } });
});

/** One line per audit that is not ok: its id, status and name, and why. */
const describeFailure = (r: AuditResult) => `${r.id} ${r.status}: ${r.name}${r.status === 'ok' ? '' : ` (${r.reason})`}`;

test('passes every MUST and SHOULD audit', async () => {
  const results = await auditServer({ url: app.graphqlUrl });
  expect(results.length).toBeGreaterThan(0);
  // 'notice' is a MAY: reported, not required.
  const failing = results.filter((r) => r.status === 'error' || r.status === 'warn');
  expect(failing.map(describeFailure)).toEqual([]);
});
