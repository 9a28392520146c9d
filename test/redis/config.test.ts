// The Redis parts of the configuration: two roles, the TLS CA, and one-line failures that name
// the variable (and never echo an ACL password).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { connectionSettings } from '../../src/redis/client.js';

const failure = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
};

test('one REDIS_URL serves both roles; CACHE_REDIS_URL moves the cache to its own Redis, cluster by list or flag', () => {
  expect(loadConfig({ REDIS_URL: 'redis://state:6379' })).toMatchObject({ redisUrl: 'redis://state:6379', cacheRedisUrl: undefined });
  const two = loadConfig({ REDIS_URL: 'redis://state:6379', CACHE_REDIS_URL: 'redis://cache:6379' });
  expect(two).toMatchObject({ redisUrl: 'redis://state:6379', cacheRedisUrl: 'redis://cache:6379', cacheRedisCluster: false, redisCluster: false });
  expect(loadConfig({ REDIS_URL: 'redis://s:1', CACHE_REDIS_URL: 'redis://a:1,redis://b:2' }).cacheRedisCluster).toBe(true);
  expect(loadConfig({ REDIS_URL: 'redis://s:1', CACHE_REDIS_URL: 'redis://a:1', CACHE_REDIS_CLUSTER: '1' }).cacheRedisCluster).toBe(true);
});

test.each([
  [{ REDIS_URL: 'redis://s:1', CACHE_REDIS_URL: 'http://cache:6379' }, 'CACHE_REDIS_URL'],
  [{ REDIS_URL: 'redis://s:1', CACHE_REDIS_URL: 'redis://a:1, ' }, 'CACHE_REDIS_URL'],
  [{ CACHE_REDIS_URL: 'redis://cache:6379' }, 'CACHE_REDIS_URL needs REDIS_URL'],
  [{ REDIS_URL: 'redis://s:1', CACHE_REDIS_CLUSTER: '1' }, 'CACHE_REDIS_CLUSTER'],
  [{ REDIS_URL: 'redis://s:1', CACHE_REDIS_URL: 'redis://a:1', CACHE_REDIS_CLUSTER: 'yes' }, 'CACHE_REDIS_CLUSTER'],
  [{ REDIS_URL: 'rediss://s:1', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' }, 'REDIS_TLS_CA_FILE'],
])('%j fails in one line naming %s', (env, name) => {
  const message = failure(env);
  expect(message).toContain(name);
  expect(message).not.toContain('\n');
});

test('a bad Redis URL is reported without its password', () => {
  const message = failure({ REDIS_URL: 'redis://app:hunter2-secret@host:6379', CACHE_REDIS_URL: 'ftp://app:hunter2-secret@cache:1' });
  expect(message).toContain('CACHE_REDIS_URL');
  expect(message).not.toContain('hunter2-secret');
});

test('REDIS_TLS_CA_FILE is read at start and must hold a PEM certificate', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeline-ca-'));
  try {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    fs.writeFileSync(path.join(dir, 'ca.pem'), pem);
    fs.writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate');
    expect(loadConfig({ REDIS_URL: 'rediss://s:1', REDIS_TLS_CA_FILE: path.join(dir, 'ca.pem') }).redisTlsCa).toBe(pem);
    expect(failure({ REDIS_URL: 'rediss://s:1', REDIS_TLS_CA_FILE: path.join(dir, 'junk.pem') })).toContain('REDIS_TLS_CA_FILE');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every node of a list gets the first URL user, password and TLS with the CA', () => {
  expect(connectionSettings('rediss://app%40x:p%3Ass@a:1,rediss://b:2', 'PEM')).toEqual({ username: 'app@x', password: 'p:ss', tls: { ca: 'PEM' } });
  expect(connectionSettings('redis://:only-pass@a:1')).toEqual({ username: undefined, password: 'only-pass' });
  expect(connectionSettings('rediss://a:1')).toEqual({ username: undefined, password: undefined, tls: {} });
});
