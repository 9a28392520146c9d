// Two instances on one PostgreSQL and one Redis, where instance A always reaches Redis through a
// TCP proxy the test can cut, blackhole or heal; B reaches it directly or through the same proxy.
// The outbox's adversary tests differ only in which instance the proxy stands in front of and
// in the instances' app options, so the setup and teardown live here once.
import type { AppOptions } from '../../src/app.js';
import { startInstance, type Instance } from './app.js';
import type { TestDatabase } from './database.js';
import { demoTokens } from './fixtures.js';
import { expectNoErrors, gql } from './graphql.js';
import { testRedisUrl, uniqueCachePrefix } from './redis.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export interface InstancePairOptions {
  /** true: B's Redis goes through the proxy too, so cutting it is an outage for both. */
  bThroughProxy?: boolean;
  aOptions?: AppOptions;
  bOptions?: AppOptions;
}

export interface InstancePair {
  proxy: TcpProxy;
  a: Instance;
  b: Instance;
  /** A demo staff access token (issued by B; both instances accept it). */
  staff: string;
}

/**
 * Starts the pair in beforeAll and stops it in afterAll. The fields are filled in by beforeAll,
 * so read them inside tests, not at the top level of the file.
 */
export function useInstancePair(db: () => TestDatabase, options: InstancePairOptions = {}): InstancePair {
  const pair = {} as InstancePair;
  beforeAll(async () => {
    const target = new URL(testRedisUrl());
    pair.proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    // One prefix for both: they share the cache, as instances of one deployment do.
    const env = { CACHE_PREFIX: uniqueCachePrefix(), CACHE_TIMEOUT_MS: '500' };
    const proxied = pair.proxy.urlFor(testRedisUrl());
    pair.a = await startInstance({ databaseUrl: db().url, redisUrl: proxied, env, appOptions: options.aOptions });
    pair.b = await startInstance({
      databaseUrl: db().url,
      redisUrl: options.bThroughProxy ? proxied : testRedisUrl(),
      env,
      appOptions: options.bOptions,
    });
    pair.staff = (await demoTokens(pair.b.url)).staff;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([pair.a?.stop(), pair.b?.stop()]);
    await pair.proxy?.close();
  });
  return pair;
}

/** A donor's city as one instance serves it (x-cache tells whether from the shared cache). */
export const readDonor = (url: string, id: string) => gql(url, `{ donor(id: "${id}") { id city } }`);

/** Reads a donor twice so the instance caches it; asserts the second read is a HIT and returns the cached city. */
export async function warmDonor(url: string, id: string): Promise<string> {
  await readDonor(url, id);
  const second = await readDonor(url, id);
  expect(second.headers.get('x-cache')).toBe('HIT');
  return expectNoErrors(second).donor.city as string;
}
