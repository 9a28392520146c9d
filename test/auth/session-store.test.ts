// The SessionStore contract against memory and real Redis, plus what only one backend can show:
// TTLs of every Redis key, and expiry under a fake clock in memory.
import { createMemorySessionStore, createRedisSessionStore, type SessionStore } from '../../src/auth/session-store.js';
import { newSessionId } from '../../src/auth/tokens.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedisClient, waitForRedis, type RedisClient } from '../../src/redis/client.js';
import { startPrivateRedis, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { ttlsUnder } from './redis-keys.js';
import { newHash, newRecord, sessionStoreContract } from './session-store.contract.js';

const HOUR = 3_600_000;

describe('memory session store', () => {
  describe('contract', () => {
    sessionStoreContract(() => {
      const store = createMemorySessionStore();
      return { store, peer: store };
    });
  });

  describe('expiry (fake clock)', () => {
    let clock = 1_000_000;
    const now = () => clock;
    let store: SessionStore;
    beforeEach(() => {
      clock = 1_000_000;
      store = createMemorySessionStore({ now });
    });

    it('forgets a token when its session ends, and a tombstone after the reuse window', async () => {
      const live = newHash();
      const used = newHash();
      const record = newRecord({ sessionExpiresAt: clock + 10_000 });
      await store.putRefreshToken(live, record);
      await store.putRefreshToken(used, record);
      await store.takeRefreshToken(used, 1_000);
      clock += 999;
      expect((await store.peekRefreshToken(used)).status).toBe('used');
      clock += 1;
      expect((await store.peekRefreshToken(used)).status).toBe('unknown');
      clock = record.sessionExpiresAt - 1;
      expect((await store.peekRefreshToken(live)).status).toBe('active');
      clock += 1;
      expect((await store.peekRefreshToken(live)).status).toBe('unknown');
    });

    it('keeps a revocation until the session would have ended, at least minTtl, and never shortens it', async () => {
      const record = newRecord({ sessionExpiresAt: clock + 50_000 });
      await store.putRefreshToken(newHash(), record);
      await store.markRevoked(record.sessionId, 10_000);
      clock += 49_999;
      expect(await store.isRevoked(record.sessionId)).toBe(true);
      await store.markRevoked(record.sessionId, 1); // a second sign-out must not shorten it
      clock += 1;
      expect(await store.isRevoked(record.sessionId)).toBe(false);

      const bare = newSessionId(); // no refresh tokens known: minTtl alone
      await store.markRevoked(bare, 10_000);
      clock += 9_999;
      expect(await store.isRevoked(bare)).toBe(true);
      clock += 1;
      expect(await store.isRevoked(bare)).toBe(false);
    });

    it('stays bounded, dropping the oldest entries first', async () => {
      const small = createMemorySessionStore({ maxEntries: 10, now });
      const hashes = Array.from({ length: 25 }, () => newHash());
      for (const h of hashes) await small.putRefreshToken(h, newRecord({ sessionExpiresAt: clock + HOUR }));
      const alive = [];
      for (const h of hashes) if ((await small.peekRefreshToken(h)).status === 'active') alive.push(h);
      expect(alive.length).toBeLessThanOrEqual(10);
      expect(alive).toContain(hashes[24]);
      expect(alive).not.toContain(hashes[0]);
    });
  });
});

describe('redis session store', () => {
  const logger = createLogger('silent');
  let redis: RedisClient;
  let other: RedisClient;
  let prefix: string;

  beforeAll(async () => {
    redis = createRedisClient({ url: testRedisUrl(), name: 'test-auth-a', logger });
    other = createRedisClient({ url: testRedisUrl(), name: 'test-auth-b', logger });
    await Promise.all([waitForRedis(redis), waitForRedis(other)]);
  });
  afterAll(async () => {
    await Promise.all([redis.quit(), other.quit()]);
  });
  beforeEach(() => {
    prefix = uniqueCachePrefix();
  });

  describe('contract (two instances, two connections, one Redis)', () => {
    sessionStoreContract(() => ({
      store: createRedisSessionStore({ redis, prefix }),
      peer: createRedisSessionStore({ redis: other, prefix }),
    }));
  });

  it('uses the documented keys under the prefix, and every one has a TTL bounded by the session', async () => {
    const store = createRedisSessionStore({ redis, prefix });
    const record = newRecord({ sessionExpiresAt: Date.now() + HOUR });
    const [a, b] = [newHash(), newHash()];
    await store.putRefreshToken(a, record);
    await store.putRefreshToken(b, record);
    await store.takeRefreshToken(a, 60_000);
    await store.markRevoked(record.sessionId, 1_000);

    const ttl = (key: string) => redis.pttl(key);
    expect(await ttl(`${prefix}auth:rt:${b}`)).toBeGreaterThan(HOUR - 10_000);
    expect(await ttl(`${prefix}auth:rt:${b}`)).toBeLessThanOrEqual(HOUR);
    const tombstone = await ttl(`${prefix}auth:rt:${a}`);
    expect(tombstone).toBeGreaterThan(50_000);
    expect(tombstone).toBeLessThanOrEqual(60_000);
    expect(await ttl(`${prefix}auth:sess:${record.sessionId}`)).toBeGreaterThan(HOUR - 10_000);
    expect(await redis.smembers(`${prefix}auth:sess:${record.sessionId}`)).toEqual([b]);
    // Revocation outlives the session's refresh tokens even though minTtl was 1 s.
    expect(await ttl(`${prefix}auth:revoked:${record.sessionId}`)).toBeGreaterThan(HOUR - 10_000);

    // A tombstone never outlives what the token had left.
    const short = newRecord({ sessionExpiresAt: Date.now() + 5_000 });
    const c = newHash();
    await store.putRefreshToken(c, short);
    await store.takeRefreshToken(c, HOUR);
    expect(await ttl(`${prefix}auth:rt:${c}`)).toBeLessThanOrEqual(5_000);

    // Nothing without a TTL (test-only keyspace scan under this test's unique prefix).
    const ttls = await ttlsUnder(redis, prefix);
    expect(Object.keys(ttls)).toHaveLength(5); // rt a, b, c + sess (c's session index is gone: no live token) + revoked
    for (const [key, ms] of Object.entries(ttls)) expect({ key, hasTtl: ms > 0 }).toEqual({ key, hasTtl: true });
  });

  it('never shortens a revocation marker', async () => {
    const store = createRedisSessionStore({ redis, prefix });
    const sid = newSessionId();
    await store.markRevoked(sid, HOUR);
    await store.markRevoked(sid, 1_000);
    expect(await redis.pttl(`${prefix}auth:revoked:${sid}`)).toBeGreaterThan(HOUR - 10_000);
  });

  it('takes a token atomically even after the server lost its scripts (EVALSHA falls back to EVAL)', async () => {
    // A private server: SCRIPT FLUSH on the shared one would disturb other test files.
    const server = await startPrivateRedis();
    const client = createRedisClient({ url: server.url, name: 'test-auth-private', logger });
    try {
      await waitForRedis(client);
      const store = createRedisSessionStore({ redis: client, prefix });
      const hash = newHash();
      await store.putRefreshToken(hash, newRecord());
      await store.takeRefreshToken(newHash(), HOUR); // loads the script
      await client.script('FLUSH');
      expect((await store.takeRefreshToken(hash, HOUR)).status).toBe('taken');
      expect((await store.takeRefreshToken(hash, HOUR)).status).toBe('used');
    } finally {
      await client.quit();
      await server.stop();
    }
  });
});
