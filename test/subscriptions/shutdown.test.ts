// Shutdown: on SIGTERM a real server process closes its subscribers with 1001 Going Away (so
// clients reconnect elsewhere) and exits 0. And the in-process engine (no REDIS_URL) end to end.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startInstance } from '../helpers/app.js';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { deferred, operationsOpen, subscribe } from './helpers.js';

const db = useSeededDatabase();
const root = path.resolve(__dirname, '..', '..');

test('SIGTERM: every subscriber gets a 1001 close frame, then the process exits 0', async () => {
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: '0',
      DATABASE_URL: db().url,
      REDIS_URL: testRedisUrl(),
      CACHE_PREFIX: uniqueCachePrefix(),
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const url = deferred<string>();
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(output);
      if (match) url.resolve(match[0]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => url.reject(new Error(`server exited (${code}) before listening:\n${output}`)));
    const wsUrl = `${(await url.promise).replace('http', 'ws')}/graphql`;

    const subs = [subscribe(wsUrl, 'subscription { inventoryChanged { units } }'), subscribe(wsUrl, 'subscription { dashboardStatsUpdated { openRequests } }')];
    await Promise.all(subs.map((s) => s.connected));
    child.kill('SIGTERM');
    const closes = await Promise.all(subs.map((s) => s.closed));
    expect(closes.map((c) => c.code)).toEqual([1001, 1001]);
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
}, 60_000);

test('in-process engine (no REDIS_URL): live events, resume with after, 1001 on stop()', async () => {
  const solo = await startInstance({ databaseUrl: db().url, redisUrl: null });
  const { staff } = await demoTokens(solo.url);
  const adjust = async () =>
    expectNoErrors(await gql(solo.url, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: B_POS, delta: 1) { units } }', undefined, { token: staff })).adjustInventory
      .units as number;
  const INVENTORY = 'subscription($after: String) { inventoryChanged(bloodGroup: B_POS, after: $after) { units } }';
  const first = subscribe(solo, INVENTORY);
  await operationsOpen(solo, 1);
  const one = await adjust();
  const [got] = await first.received(1);
  expect(got!.data.inventoryChanged.units).toBe(one);
  await first.dispose();

  const missed = [await adjust(), await adjust()];
  const resumed = subscribe(solo, INVENTORY, { variables: { after: got!.eventId } });
  await resumed.received(2);
  const live = await adjust();
  await resumed.received(3);
  expect(resumed.events.map((e) => e.data.inventoryChanged.units)).toEqual([...missed, live]);

  await solo.stop();
  expect((await resumed.closed).code).toBe(1001);
});
