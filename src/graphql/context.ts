// The per-operation context: a fresh set of loaders and a fresh cache scope for every
// HTTP request and every WebSocket operation (neither may outlive one operation).
import type { AfterCommit } from '../after-commit.js';
import type { AuthService, Viewer } from '../auth/types.js';
import type { Cache, CacheScope } from '../cache/cache.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../observability/logger.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { OperationOutcome } from './cache-plugin.js';
import type { CacheMode, RequestCache } from './request-cache.js';

/** Long-lived services shared by every operation of one app instance. */
export interface AppServices {
  database: Database;
  auth: AuthService;
  logger: Logger;
  afterCommit: AfterCommit;
  /** The cache core; null when CACHE_MODE=off. */
  cache: Cache | null;
  cacheMode: CacheMode;
  /** Fresh lifetime (ms) of cached values of a GraphQL type, from its @cacheControl maxAge. */
  cacheTtlMs(type: string): number;
  /** Drops cached entries of a type, of one entity, or (type "*") everything; returns how many were removed. */
  purgeCache(type: string, id: string | null): Promise<number>;
  /** The current time; injectable so rules like eligibility can be tested. */
  now(): Date;
}

export interface GraphQLContext {
  requestId: string;
  viewer: Viewer | null;
  loaders: Loaders;
  /** This operation's view of the cache; null when caching is off. */
  cache: RequestCache | null;
  /** Filled by the cache plugin once the operation ran (type, cache policy, errors). */
  outcome: { current: OperationOutcome | null };
  services: AppServices;
  /** The HTTP request's User-Agent, for the device hint of a session signed in by this operation. */
  userAgent?: string;
}

export function createContext(services: AppServices, viewer: Viewer | null, requestId: string, scope?: CacheScope): GraphQLContext {
  const rc: RequestCache | null = services.cache
    ? {
        core: services.cache,
        scope: scope ?? services.cache.newScope(),
        entities: services.cacheMode !== 'off',
        ttlMs: services.cacheTtlMs,
      }
    : null;
  return { requestId, viewer, loaders: createLoaders(services.database.db, rc), cache: rc, outcome: { current: null }, services };
}
