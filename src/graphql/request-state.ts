// What one request carries from the transport through Apollo's plugins and back: who sent it,
// the cache scope (fence, epoch, tags, remaining life) its reads go through, and how the
// operation ended. Apollo hands plugins and resolvers shallow copies of the context object, so
// anything keyed by the context's identity (a WeakMap side table) or written onto the context
// itself is lost between them; this object is referenced from every copy and mutated in place.
import type { CacheScope } from '../cache/cache.js';

/** Who sent a request, as far as the transport knows (the proxy-aware address, http/limits.ts clientIp). */
export interface ClientInfo {
  ip: string;
  /** The User-Agent header (sign-in records a device hint from it). */
  userAgent?: string;
}

/** How an operation ended, recorded by the cache plugin for the response cache and the request log. */
export interface OperationOutcome {
  operation: 'query' | 'mutation' | 'subscription' | null;
  /** null when the response may not be cached (maxAge 0). */
  policy: { maxAge: number; scope: 'PUBLIC' | 'PRIVATE' } | null;
  errorCodes: string[];
}

export interface RequestState {
  /** null when the transport did not say (e.g. an operation run inside the server). */
  readonly client: ClientInfo | null;
  /** The cache scope every read of this request goes through; null until the cache is first used, and when it is off. */
  scope: CacheScope | null;
  /** Set once the operation ran. */
  outcome: OperationOutcome | null;
}

export function newRequestState(client: ClientInfo | null = null, scope: CacheScope | null = null): RequestState {
  return { client, scope, outcome: null };
}
