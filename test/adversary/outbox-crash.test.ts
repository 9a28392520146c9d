// An instance killed (SIGKILL) after its commit and before its invalidation (CACHE-CONSISTENCY
// case 7): its transaction recorded the tags in the outbox, so the other instances' relay
// applies the invalidation within seconds instead of serving the old value until its TTL.
// The victim is a child process (`tsx src/main.ts`) with the test-only hook that makes it die
// right after a commit; the survivor runs in this process and shares Redis and PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import postgres from 'postgres';
import { startInstance, TEST_JWT_SECRET, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { waitForLine } from '../helpers/process.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { freePort } from '../setup/global-setup.js';

const root = path.resolve(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const db = useSeededDatabase();
const prefix = uniqueCachePrefix();
let survivor: Instance;
let victim: ChildProcess | undefined;
let victimUrl: string;

/** The relay's routine poll applies a row its writer left after the grace (2 s) plus one poll (0.5 s); loaded machine included. */
const BOUND_MS = 6_000;

beforeAll(async () => {
  survivor = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: prefix } });
  const port = await freePort();
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'NODE_ENV', 'PORT', 'WEB_CONCURRENCY']) delete env[k];
  victim = spawn(tsx, ['src/main.ts'], {
    cwd: root,
    env: {
      ...env,
      NODE_ENV: 'test',
      LIFELINE_TEST_DIE_AFTER_COMMIT: '1',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db().url,
      REDIS_URL: testRedisUrl(),
      CACHE_PREFIX: prefix,
      JWT_SECRET: TEST_JWT_SECRET,
      SEED_DEMO_DATA: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await waitForLine(victim, /http:\/\/127\.0\.0\.1:\d+\/graphql/, 90_000);
  victimUrl = line.replace(/\/graphql.*$/, '');
}, 120_000);

afterAll(() => {
  victim?.kill('SIGKILL');
});

const read = (url: string, id: string) => gql(url, `{ donor(id: "${id}") { id city } }`);

test('killed right after commit: the survivor applies the invalidation from the outbox within seconds', async () => {
  const { staff } = await demoTokens(survivor.url);
  await read(survivor.url, '40');
  const cached = await read(survivor.url, '40');
  expect(cached.headers.get('x-cache')).toBe('HIT');
  const old = expectNoErrors(cached).donor.city as string;

  // tsx runs the app in a child node process and exits with 128 + 9 when that one is SIGKILLed.
  const exited = new Promise<string>((resolve) => victim!.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
  // The victim commits, then dies before answering: the client sees the connection drop.
  await expect(
    gql(victimUrl, 'mutation { updateDonor(id: "40", input: { city: "AfterCrash" }) { city } }', undefined, { token: staff, timeoutMs: 20_000 }),
  ).rejects.toThrow();
  expect(['SIGKILL', 'exit 137']).toContain(await exited);
  const killedAt = Date.now();

  // The commit happened (checked in PostgreSQL directly), and the survivor's cache still holds the old value.
  const sql = postgres(db().url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ city: string }[]>`SELECT city FROM donors WHERE id = 40`;
    expect(row!.city).toBe('AfterCrash');
  } finally {
    await sql.end({ timeout: 5 });
  }
  expect(old).not.toBe('AfterCrash');

  // Within the bound, the survivor serves the committed value (and from then on, never the old one).
  let seen = old;
  for (let i = 0; i < 1_000 && Date.now() - killedAt < BOUND_MS && seen !== 'AfterCrash'; i++) {
    seen = expectNoErrors(await read(survivor.url, '40')).donor.city as string;
    if (seen !== 'AfterCrash') await new Promise((r) => setTimeout(r, 100));
  }
  const tookMs = Date.now() - killedAt;
  expect({ seen, withinBound: tookMs < BOUND_MS }).toEqual({ seen: 'AfterCrash', withinBound: true });
  console.log(`the survivor served the crashed writer's change ${tookMs} ms after the crash`);
  for (let i = 0; i < 5; i++) expect(expectNoErrors(await read(survivor.url, '40')).donor.city).toBe('AfterCrash');
  // And the cache is in use again, with the new value.
  const again = await read(survivor.url, '40');
  expect(again.body.data.donor.city).toBe('AfterCrash');
}, 60_000);
