// Whole-response caching under @cacheControl: keyed by the document, variables,
// operation name and response format; PUBLIC entries shared, PRIVATE entries per
// user (keys name the user); stale-while-revalidate within a grace period; one
// recomputation per key across instances (in-process single flight + Redis lease).
import { createHash } from 'node:crypto';
import type { Cache, CacheScope } from './cache.js';
import { privateResponseKey, publicResponseKey, userTag } from './keys.js';

export interface CachedResponse {
  body: string;
  contentType: string;
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
  /** When it was computed (ms), for Age and the remaining max-age. */
  storedAt: number;
  /** PUBLIC only: its tags for a CDN (cache/cdn-tags.ts); null when they do not fit. */
  cdnTags?: string | null;
}

export interface ResponseRequest {
  /** sha256 of the query text, or the APQ hash when only that was sent. */
  documentHash: string;
  operationName?: string | null;
  variables?: unknown;
  /** The negotiated response type (application/json vs application/graphql-response+json). */
  format: string;
}

export interface Lookup {
  scope: CacheScope;
  /** The signed-in user the lookup was made for, null when anonymous. */
  userId: number | null;
  key: string;
  privateKey: string | null;
  hit: CachedResponse | null;
  stale: boolean;
  /** The hit's soft expiry (cache clock, ms); Infinity without a hit. */
  expiresAt: number;
}

export interface ResponseCacheOptions {
  cache: Cache;
  /** Longest a stale entry may be served after its maxAge, as a fraction of maxAge (capped at maxGraceMs). Default 1. */
  graceFraction?: number;
  maxGraceMs?: number;
  /** How long a non-holder waits for the lease holder's result before computing itself. Default 1,500 ms. */
  waitForHolderMs?: number;
  /** Lease lifetime: a crashed holder blocks nobody longer. Default 3,000 ms. */
  leaseMs?: number;
  /** TEST ONLY: awaited after an operation ran and before its response is written back, so a test can commit a write in between. */
  beforeStore?: (key: string) => Promise<void>;
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted, so {a,b} and {b,a} name the same entry. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .filter((k) => obj[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`)
    .join(',')}}`;
}

/**
 * Names one cached response: same document, operation, variables (in any key order) and format, same entry.
 * The operation name is JSON (null when absent): "" is a name Apollo refuses, not the absence of one.
 */
export const requestHash = (r: ResponseRequest) =>
  sha256(`${r.documentHash}\u0000${JSON.stringify(r.operationName ?? null)}\u0000${stableStringify(r.variables ?? {})}\u0000${r.format}`);

export function createResponseCache(options: ResponseCacheOptions) {
  const { cache } = options;
  const graceFraction = options.graceFraction ?? 1;
  const maxGraceMs = options.maxGraceMs ?? 300_000;
  const waitForHolderMs = options.waitForHolderMs ?? 1_500;
  const leaseMs = options.leaseMs ?? 3_000;
  const inflight = new Map<string, Flight>();

  return {
    /** One round trip: the fence, the epoch, the public entry and (signed in) the user's private entry. `hash` is the request's requestHash. */
    async lookup(hash: string, userId: number | null): Promise<Lookup> {
      const scope = cache.newScope();
      const key = publicResponseKey(hash);
      const privateKey = userId === null ? null : privateResponseKey(userId, hash);
      const hits = await cache.get<CachedResponse>(scope, privateKey ? [key, privateKey] : [key]);
      const hit = hits.get(key) ?? (privateKey ? hits.get(privateKey) : undefined) ?? null;
      return { scope, userId, key, privateKey, hit: hit?.value ?? null, stale: hit?.stale ?? false, expiresAt: hit?.expiresAt ?? Infinity };
    },

    /** Whether the cache is in use now (false while degraded: writes are skipped, not refused). */
    usable: () => cache.health().usable,

    /**
     * The fresh life (s) of a response built under `scope` whose hints allow `maxAge`: bounded by
     * what remains of the cached entries it was built from (rounded down, so never past them).
     * 0 means it may not be kept at all.
     */
    maxAgeFor(maxAge: number, scope: CacheScope): number {
      return Math.max(0, Math.min(maxAge, Math.floor((scope.expiresAt - cache.now()) / 1000)));
    },

    /** Stores a response fenced by the lookup's scope; PRIVATE ones only under the user's key. */
    async store(lookup: Lookup, response: CachedResponse, tags: Iterable<string>): Promise<boolean> {
      const isPrivate = response.scope === 'PRIVATE';
      if (isPrivate && !lookup.privateKey) return false;
      await options.beforeStore?.(lookup.key);
      const allTags = [...tags, ...(isPrivate ? [userTag(lookup.userId!)] : [])];
      // An entry without tags could never be invalidated (e.g. a by-id miss that returned null).
      if (!allTags.length) return false;
      const ttlMs = response.maxAge * 1000;
      if (ttlMs <= 0) return false;
      // Fresh life and stale grace together stay within the remaining life of its sources.
      const graceMs = Math.max(0, Math.min(ttlMs * graceFraction, maxGraceMs, lookup.scope.expiresAt - cache.now() - ttlMs));
      const [stored] = await cache.set(lookup.scope, [{ key: isPrivate ? lookup.privateKey! : lookup.key, value: response, tags: allTags, ttlMs, graceMs }]);
      return stored ?? false;
    },

    /**
     * Makes concurrent misses of one query cause one computation, on every instance: a
     * local single flight, and across instances a lease on the public key. Returns the
     * response to serve as a hit, or 'execute' when this caller must run the operation
     * itself; returns null after running `execute` as the holder (which then answered).
     *
     * A follower takes the holder's result only if it cannot predate anything the follower
     * must see: the holder's fence is at least the follower's (every invalidation acknowledged
     * before the follower started is covered), the fenced write was accepted, and the result
     * is PUBLIC or the follower's own.
     */
    async coalesce(
      lookup: Lookup,
      execute: (release: (result: CachedResponse | null) => void) => Promise<void>,
    ): Promise<CachedResponse | null | 'execute'> {
      const fence = lookup.scope.fence;
      if (fence === null || !lookup.scope.writable) return 'execute';
      const flightKey = `${lookup.scope.epoch}:${lookup.key}`;
      const shareable = (flight: Flight, result: CachedResponse | null) =>
        result !== null && flight.fence >= fence && (result.scope === 'PUBLIC' || flight.userId === lookup.userId) ? result : null;

      const local = inflight.get(flightKey);
      // A stale entry is served at once while the computation runs (stale-while-revalidate);
      // without one, the caller waits for that computation's result.
      if (local) return lookup.hit && lookup.stale ? lookup.hit : (shareable(local, await local.result) ?? 'execute');
      const releaseLease = await cache.tryLease(lookup.scope, lookup.key, leaseMs);
      // The store cannot coordinate: everyone computes for themselves rather than wait.
      if (releaseLease === 'unavailable') return 'execute';
      if (typeof releaseLease === 'function') {
        let settle!: (r: CachedResponse | null) => void;
        const flight: Flight = { fence, userId: lookup.userId, result: new Promise((resolve) => (settle = resolve)) };
        inflight.set(flightKey, flight);
        try {
          await execute((result) => settle(result));
        } finally {
          settle(null);
          inflight.delete(flightKey);
          await releaseLease();
        }
        return null;
      }
      // Another instance is computing: a stale entry is served meanwhile; otherwise wait for its
      // stored result (entries in the cache are fenced and invalidated, so any fresh one will do).
      if (lookup.hit && lookup.stale) return lookup.hit;
      const keys = lookup.privateKey ? [lookup.key, lookup.privateKey] : [lookup.key];
      const deadline = Date.now() + waitForHolderMs;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 15));
        const again = await cache.get<CachedResponse>(cache.newScope(), keys);
        for (const hit of again.values()) if (!hit.stale) return hit.value;
      }
      return 'execute';
    },
  };
}

interface Flight {
  fence: number;
  userId: number | null;
  result: Promise<CachedResponse | null>;
}

export type ResponseCache = ReturnType<typeof createResponseCache>;
