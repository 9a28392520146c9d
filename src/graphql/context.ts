// The per-operation context: a fresh set of loaders and a fresh cache scope for every
// HTTP request and every WebSocket operation (neither may outlive one operation).
import type { DomainEvent } from '../after-commit.js';
import type { AuthService, Viewer } from '../auth/types.js';
import type { Cache } from '../cache/cache.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../observability/logger.js';
import type { Write } from '../write.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { CacheMode, RequestCache } from './request-cache.js';
import { newRequestState, type RequestState } from './request-state.js';

/** Long-lived services shared by every operation of one app instance. */
export interface AppServices {
  database: Database;
  auth: AuthService;
  logger: Logger;
  /** The one way to change data: transaction, invalidation outbox, commit, invalidate, publish (write.ts). */
  write: Write;
  /** Publishes events that change no data (a sign-out closing its subscriptions). */
  publish(events: DomainEvent[]): Promise<void>;
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
  /** The request's client, cache scope and outcome: one object every copy of this context shares. */
  request: RequestState;
  services: AppServices;
}

export function createContext(services: AppServices, viewer: Viewer | null, requestId: string, request: RequestState = newRequestState()): GraphQLContext {
  const rc: RequestCache | null = services.cache
    ? {
        core: services.cache,
        scope: (request.scope ??= services.cache.newScope()),
        entities: services.cacheMode !== 'off',
        ttlMs: services.cacheTtlMs,
      }
    : null;
  return { requestId, viewer, loaders: createLoaders(services.database.db, rc), cache: rc, request, services };
}
