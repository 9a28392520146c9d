import { ConfigError, loadConfig } from '../src/config.js';

test('defaults follow SPEC §3', () => {
  const c = loadConfig({});
  expect(c).toMatchObject({ port: 4000, host: '127.0.0.1', cachePrefix: 'lifeline:', webConcurrency: 1, rateLimitPerMinute: 600, databaseUrl: undefined, redisUrl: undefined });
  expect(c.seedDemoData).toBe(true);
  expect(c.jwtSecretGenerated).toBe(true);
});

test('a comma-separated REDIS_URL or REDIS_CLUSTER=1 selects cluster mode', () => {
  expect(loadConfig({ REDIS_URL: 'redis://a:7000,redis://b:7001' }).redisCluster).toBe(true);
  expect(loadConfig({ REDIS_URL: 'redis://a:7000', REDIS_CLUSTER: '1' }).redisCluster).toBe(true);
  expect(loadConfig({ REDIS_URL: 'rediss://a:7000' }).redisCluster).toBe(false);
});

test.each([
  [{ PORT: '70000' }, 'PORT'],
  [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
  [{ CACHE_PREFIX: 'has space' }, 'CACHE_PREFIX'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  [{ RATE_LIMIT_PER_MINUTE: '-1' }, 'RATE_LIMIT_PER_MINUTE'],
  [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
  [{ NODE_ENV: 'production' }, 'JWT_SECRET'],
])('%j fails naming %s in one line', (env, name) => {
  let error: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const message = (error as Error).message;
  expect(message).toContain(name);
  expect(message).not.toContain('\n');
});

test('CORS_ORIGINS: a development default for local frontends and Apollo Sandbox, none in production, and bad values fail in one line', () => {
  expect(loadConfig({}).corsOrigins).toEqual(expect.arrayContaining(['http://localhost:*', 'https://studio.apollographql.com']));
  expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).corsOrigins).toEqual([]);
  expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).corsOrigins).toEqual(['https://a.example', 'http://localhost:5173']);
  expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toEqual(['*']);
  for (const bad of ['https://a.example/path', 'localhost:5173', '*,https://a.example']) {
    expect(() => loadConfig({ CORS_ORIGINS: bad })).toThrow(ConfigError);
    try {
      loadConfig({ CORS_ORIGINS: bad });
    } catch (err) {
      expect((err as Error).message).toContain('CORS_ORIGINS');
      expect((err as Error).message).not.toContain('\n');
    }
  }
});

test('stack traces only with INCLUDE_STACKTRACE=1, in every mode', () => {
  expect(loadConfig({}).includeStacktrace).toBe(false);
  expect(loadConfig({ NODE_ENV: 'development' }).includeStacktrace).toBe(false);
  expect(loadConfig({ INCLUDE_STACKTRACE: '1' }).includeStacktrace).toBe(true);
});

test('CACHE_ENCRYPTION_KEY: 32 bytes as hex or base64; unset, derived from JWT_SECRET; a bad one fails in one line without echoing it', () => {
  const hex = 'ab'.repeat(32);
  const fromHex = loadConfig({ CACHE_ENCRYPTION_KEY: hex });
  expect(fromHex.cacheEncryptionKey.toString('hex')).toBe(hex);
  expect(fromHex.cacheEncryptionKeyDerived).toBe(false);
  const raw = Buffer.alloc(32, 7);
  expect(loadConfig({ CACHE_ENCRYPTION_KEY: raw.toString('base64') }).cacheEncryptionKey).toEqual(raw);
  expect(loadConfig({ CACHE_ENCRYPTION_KEY: raw.toString('base64url') }).cacheEncryptionKey).toEqual(raw);

  // Unset: the same JWT_SECRET gives every instance the same key; another secret another key.
  const secret = 's'.repeat(40);
  const a = loadConfig({ JWT_SECRET: secret });
  expect(a.cacheEncryptionKeyDerived).toBe(true);
  expect(a.cacheEncryptionKey).toHaveLength(32);
  expect(loadConfig({ JWT_SECRET: secret }).cacheEncryptionKey).toEqual(a.cacheEncryptionKey);
  expect(loadConfig({ JWT_SECRET: 't'.repeat(40) }).cacheEncryptionKey).not.toEqual(a.cacheEncryptionKey);
  // Not the secret itself.
  expect(a.cacheEncryptionKey.toString('utf8')).not.toContain('ssss');

  for (const bad of ['ab'.repeat(16), Buffer.alloc(31).toString('base64'), 'not a key!', 'ab'.repeat(33)]) {
    let error: unknown;
    try {
      loadConfig({ CACHE_ENCRYPTION_KEY: bad });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('CACHE_ENCRYPTION_KEY');
    expect(message).not.toContain('\n');
    expect(message).not.toContain(bad);
  }
});
