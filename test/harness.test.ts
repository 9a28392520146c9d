// Proves the test plumbing itself: migrated per-file databases that are isolated from each
// other, the run-wide Redis, private Redis servers that can hang and recover, and the HTTP client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Redis from 'ioredis';
import postgres from 'postgres';
import { createTestDatabase, useTestDatabase, type TestDatabase } from './helpers/database.js';
import { expectNoErrors, gql } from './helpers/graphql.js';
import { startPrivateRedis, testRedisUrl, uniqueCachePrefix } from './helpers/redis.js';

const database = useTestDatabase();

async function withSql<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe('test databases', () => {
  it('are migrated copies of the template', async () => {
    const [row] = await withSql(database().url, (sql) => sql`select count(*)::int as n from donors`);
    expect(row).toEqual({ n: 0 });
  });

  it('are isolated from each other and dropped on request', async () => {
    const other: TestDatabase = await createTestDatabase();
    try {
      await withSql(database().url, (sql) => sql`create table harness_probe (x int)`);
      const [here] = await withSql(database().url, (sql) => sql`select to_regclass('harness_probe') is not null as exists`);
      const [there] = await withSql(other.url, (sql) => sql`select to_regclass('harness_probe') is not null as exists`);
      expect(here).toEqual({ exists: true });
      expect(there).toEqual({ exists: false });
    } finally {
      await other.drop();
    }
    const [{ n }] = await withSql(
      process.env.TEST_PG_ADMIN_URL!,
      (sql) => sql<{ n: number }[]>`select count(*)::int as n from pg_database where datname = ${other.name}`,
    );
    expect(n).toBe(0);
  });
});

describe('redis', () => {
  it('the shared server answers PING', async () => {
    const redis = new Redis(testRedisUrl(), { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.ping()).toBe('PONG');
      expect(uniqueCachePrefix()).toMatch(/^t[0-9a-f]{8}:$/);
      expect(uniqueCachePrefix()).not.toBe(uniqueCachePrefix());
    } finally {
      redis.disconnect();
    }
  });

  it('a private server can hang (pause), recover (resume) and come back after a crash (restart)', async () => {
    const server = await startPrivateRedis();
    const client = new Redis(server.url, { commandTimeout: 5_000, maxRetriesPerRequest: 1, lazyConnect: true });
    client.on('error', () => {}); // connection resets during kill/restart are expected
    try {
      await client.connect();
      await client.set('k', 'v');
      expect(await client.get('k')).toBe('v');

      // ioredis reads commandTimeout per command: short only while we expect a hang.
      server.pause();
      client.options.commandTimeout = 300;
      await expect(client.ping()).rejects.toThrow(/timed out/i);
      client.options.commandTimeout = 5_000;

      server.resume();
      expect(await client.ping()).toBe('PONG');

      await server.kill();
      await server.restart();
      const fresh = new Redis(server.url, { commandTimeout: 2_000, lazyConnect: true });
      try {
        await fresh.connect();
        expect(await fresh.get('k')).toBeNull(); // a new, empty server on the same port
      } finally {
        fresh.disconnect();
      }
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});

describe('gql()', () => {
  it('POSTs JSON and GETs with the preflight header', async () => {
    const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ data: { ok: true } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const post = await gql(base, '{ ok }', { a: 1 }, { token: 'T' });
      expect(expectNoErrors(post)).toEqual({ ok: true });
      const get = await gql(`${base}/graphql`, '{ ok }', { a: 1 }, { method: 'GET' });
      expect(get.status).toBe(200);

      expect(seen[0]).toMatchObject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', authorization: 'Bearer T' },
      });
      expect(JSON.parse(seen[0]!.body)).toEqual({ query: '{ ok }', variables: { a: 1 } });
      expect(seen[1]!.method).toBe('GET');
      expect(seen[1]!.headers['apollo-require-preflight']).toBe('true');
      const params = new URL(seen[1]!.url!, base).searchParams;
      expect(params.get('query')).toBe('{ ok }');
      expect(JSON.parse(params.get('variables')!)).toEqual({ a: 1 });

      expect(() => expectNoErrors({ ...post, body: { errors: [{ message: 'boom' }] } })).toThrow(/boom/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
