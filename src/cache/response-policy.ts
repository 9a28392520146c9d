// The full-response cache's policy, apart from any transport: what an executed operation may
// leave in the cache, when a stale copy is served instead, and what the answer's caching headers
// say (Cache-Control, CDN purge tags, Cache-Status, ETag, Vary). The HTTP adapter
// (http/server.ts) only carries these decisions to the wire. The rule throughout: the headers say
// what the cache actually did: only an entry that was stored is advertised as cacheable, and
// never for longer than the entries it was built from had left (CacheScope.expiresAt).
import { createHash } from 'node:crypto';
import { cdnHeaders, cdnTagHeader, type CdnTagMode } from './cdn-tags.js';
import type { CacheScope } from './cache.js';
import type { CachedResponse, Lookup, ResponseCache } from './response-cache.js';

/** The `Cache-Status` cache name (RFC 9211 §2). */
export const CACHE_STATUS_NAME = 'Lifeline';

/** How an operation ended (the cache plugin's record of it). */
export interface ExecutedOutcome {
  operation: 'query' | 'mutation' | 'subscription' | null;
  /** null when the hints allow no caching (maxAge 0). */
  policy: { maxAge: number; scope: 'PUBLIC' | 'PRIVATE' } | null;
  errorCodes: string[];
}

/** An executed operation as the transport received it from GraphQL. */
export interface ExecutedResponse {
  status: number;
  contentType: string;
  body: string;
  /** undefined when the operation never ran to the end (refused before execution, or out of time). */
  outcome: ExecutedOutcome | undefined;
}

/**
 * Why an answer was not stored, as `Cache-Status: Lifeline; ...; detail=<reason>` says:
 * - `private-no-session`: PRIVATE data for an anonymous caller (no user to key it by);
 * - `uncacheable`: a field's hint allows no caching (maxAge 0), or nothing could invalidate it;
 * - `sources-expiring`: what it was built from has under a second of life left;
 * - `refused`: the fenced write-back was refused: a mutation committed while it was computed;
 * - `unavailable`: the cache store is down, slow or suspended;
 * - `error`: an error answer (errors are never cached);
 * - `not-a-query`: a mutation or subscription;
 * - `off`: the full-response cache is off (CACHE_MODE), or the request never reached it.
 */
export type NotStoredReason = 'private-no-session' | 'uncacheable' | 'sources-expiring' | 'refused' | 'unavailable' | 'error' | 'not-a-query' | 'off';

/** What happened to one answer in the response cache, for its headers. */
export type CacheOutcome =
  /** Served from the cache. `stale`: past its fresh life, served while it is refreshed or while the database fails. */
  | { kind: 'hit'; entry: CachedResponse; stale: false | 'while-revalidate' | 'if-error'; expiresAt: number }
  /** Computed (on a miss, or to replace a stale entry) and stored. `collapsed`: another request computed it. */
  | { kind: 'stored'; entry: CachedResponse; revalidated: boolean; collapsed?: boolean }
  /**
   * Computed and not stored, for `reason`. `hinted` (reason `off` only: no response cache to ask):
   * the hints' policy, which then goes out as Cache-Control, bounded by its sources' life.
   */
  | { kind: 'not-stored'; reason: NotStoredReason; revalidated: boolean; hinted?: Hinted | null };

/** A response's cache hints, with the earliest expiry of the cached entries it was built from. */
export interface Hinted {
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
  expiresAt: number;
}

export interface ResponsePolicyOptions {
  /** null when the full-response cache is off: every answer is `not-stored; off`. */
  responseCache: ResponseCache | null;
  /** Cache-Tag / Surrogate-Key on stored PUBLIC responses. */
  cdnTags: CdnTagMode;
  /** The cache's clock (ms). */
  now: () => number;
}

const codesMeaningTheDatabaseFailed = new Set(['SERVICE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR']);

export function createResponsePolicy(options: ResponsePolicyOptions) {
  const { responseCache, cdnTags, now } = options;
  const etags = new WeakMap<CachedResponse, string>();

  /** A PUBLIC response no CDN purge could reach (its tags do not fit a header) is not for shared caches. */
  const cacheControlOf = (entry: CachedResponse, maxAge: number) =>
    `max-age=${maxAge}, ${entry.scope.toLowerCase()}${cdnTags !== 'off' && entry.scope === 'PUBLIC' && !entry.cdnTags ? ', s-maxage=0' : ''}`;

  /** A strong validator of one stored representation (its media type and bytes). */
  const etagOf = (entry: CachedResponse) => {
    let tag = etags.get(entry);
    if (!tag) etags.set(entry, (tag = `"${createHash('sha256').update(entry.contentType).update('\n').update(entry.body).digest('base64url').slice(0, 32)}"`));
    return tag;
  };

  /** What a key depends on besides the URL/body: the format (Accept) always; the user (Authorization) for PRIVATE data. */
  const varyOf = (scope: 'PUBLIC' | 'PRIVATE' | null) => (scope === 'PRIVATE' ? 'Accept, Authorization' : 'Accept');

  const cacheStatusOf = (outcome: CacheOutcome): string => {
    const parts = [CACHE_STATUS_NAME];
    if (outcome.kind === 'hit') {
      parts.push('hit', `ttl=${Math.floor((outcome.expiresAt - now()) / 1000)}`);
      if (outcome.stale) parts.push(`detail=stale-${outcome.stale}`);
    } else {
      const fwd = outcome.kind === 'not-stored' && (outcome.reason === 'off' || outcome.reason === 'error') ? 'bypass' : outcome.kind === 'not-stored' && outcome.reason === 'not-a-query' ? 'method' : outcome.revalidated ? 'stale' : 'uri-miss';
      parts.push(`fwd=${fwd}`);
      if (outcome.kind === 'stored') {
        if (outcome.collapsed) parts.push('collapsed');
        parts.push('stored', `ttl=${outcome.entry.maxAge}`);
      } else parts.push(`detail=${outcome.reason}`);
    }
    return parts.join('; ');
  };

  const policy = {
    /** What the cache may keep of an executed operation, or why it may not. `signedIn`: a user the entry could be keyed by. */
    entryFor(executed: ExecutedResponse, signedIn: boolean, scope: CacheScope): CachedResponse | NotStoredReason {
      const o = executed.outcome;
      if (!responseCache) return 'off';
      if (executed.status !== 200 || !o || o.errorCodes.length) return 'error';
      if (o.operation !== 'query') return 'not-a-query';
      if (!o.policy) return 'uncacheable';
      if (o.policy.scope === 'PRIVATE' && !signedIn) return 'private-no-session';
      // Never fresher than the entries it was built from.
      const maxAge = responseCache.maxAgeFor(o.policy.maxAge, scope);
      if (maxAge <= 0) return 'sources-expiring';
      // An entry without tags could never be invalidated (e.g. a by-id miss that returned null).
      if (o.policy.scope === 'PUBLIC' && !scope.tags.size) return 'uncacheable';
      const cdnTagList = o.policy.scope === 'PUBLIC' && cdnTags !== 'off' ? cdnTagHeader(scope.tags) : null;
      return { body: executed.body, contentType: executed.contentType, maxAge, scope: o.policy.scope, storedAt: now(), cdnTags: cdnTagList };
    },

    /** The hints of an answer no response cache was asked about (CACHE_MODE off or entity), when it has any. */
    hinted(executed: ExecutedResponse, scope: CacheScope | null): Hinted | null {
      const o = executed.outcome;
      if (executed.status !== 200 || !o?.policy || o.errorCodes.length) return null;
      return { ...o.policy, expiresAt: scope?.expiresAt ?? Infinity };
    },

    /** Writes an entry back (fenced by the lookup's scope): the outcome to report. */
    async store(lookup: Lookup, entry: CachedResponse, revalidated: boolean): Promise<CacheOutcome> {
      if (await responseCache!.store(lookup, entry, lookup.scope.tags)) return { kind: 'stored', entry, revalidated };
      // The store said no: because the fence moved (a mutation raced the read) unless it could not be asked at all.
      const reason: NotStoredReason = lookup.scope.writable && responseCache!.usable() ? 'refused' : 'unavailable';
      return { kind: 'not-stored', reason, revalidated };
    },

    /** A database failure (or the request deadline) while a stale copy exists: that copy beats the error. */
    servesStaleInstead(executed: ExecutedResponse): boolean {
      return executed.status === 503 || (executed.outcome?.errorCodes.some((c) => codesMeaningTheDatabaseFailed.has(c)) ?? false);
    },

    /** Headers that never change for one stored entry (built once per entry by the transport). */
    fixedHeaders(entry: CachedResponse): Record<string, string> {
      return { vary: varyOf(entry.scope), ...(entry.scope === 'PUBLIC' ? cdnHeaders(entry.cdnTags ?? null, cdnTags) : {}) };
    },

    /**
     * The caching headers of an answer. `validators`: a strong ETag on a stored answer (the
     * transport asks only for GET). Answers not stored get `no-store`, no purge tags, no ETag.
     */
    headers(outcome: CacheOutcome, validators: boolean): Record<string, string> {
      const status = cacheStatusOf(outcome);
      if (outcome.kind === 'not-stored') {
        const hinted = outcome.reason === 'off' ? outcome.hinted : null;
        const maxAge = hinted ? Math.max(0, Math.min(hinted.maxAge, Math.floor((hinted.expiresAt - now()) / 1000))) : 0;
        const cacheControl = hinted && maxAge > 0 ? `max-age=${maxAge}, ${hinted.scope.toLowerCase()}` : 'no-store';
        return { 'cache-control': cacheControl, 'cache-status': status, vary: varyOf(hinted?.scope ?? null) };
      }
      const { entry } = outcome;
      let maxAge = entry.maxAge;
      const headers: Record<string, string> = {};
      if (outcome.kind === 'hit') {
        const age = Math.max(0, Math.floor((now() - entry.storedAt) / 1000));
        // The rest of its own life, which was bounded by its sources' when it was stored.
        maxAge = outcome.stale ? 0 : Math.max(0, Math.min(entry.maxAge - age, Math.floor((outcome.expiresAt - now()) / 1000)));
        headers.age = String(age);
      } else Object.assign(headers, policy.fixedHeaders(entry));
      headers['cache-control'] = cacheControlOf(entry, maxAge);
      headers['cache-status'] = status;
      if (validators) headers.etag = etagOf(entry);
      return headers;
    },

    /** If-None-Match (weak comparison, RFC 9110 §13.1.2) against a stored answer's ETag. */
    notModified(ifNoneMatch: string | undefined, etag: string | undefined): boolean {
      if (!ifNoneMatch || !etag) return false;
      if (ifNoneMatch.trim() === '*') return true;
      return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
    },
  };
  return policy;
}

export type ResponsePolicy = ReturnType<typeof createResponsePolicy>;
