// The cache as one operation sees it: the core, this operation's scope (fence,
// epoch, collected tags) and per-type TTLs from the schema's @cacheControl hints.
import type { Cache, CacheScope } from '../cache/cache.js';

export type CacheMode = 'off' | 'entity' | 'full';

export interface RequestCache {
  core: Cache;
  scope: CacheScope;
  /** Entity and list reads go through the cache (modes entity and full). */
  entities: boolean;
  /** Fresh lifetime of a cached value of this GraphQL type. */
  ttlMs(type: string): number;
}

/** Adds tags to what this operation's response is known to contain. */
export function tagResponse(rc: RequestCache | null, ...tags: string[]): void {
  if (rc) for (const t of tags) rc.scope.tags.add(t);
}

/**
 * Read-through for many keys of one GraphQL type in one round trip: hits from the
 * cache, the rest from `fetch` in one batch, written back fenced.
 */
export async function readThroughMany<T>(
  rc: RequestCache | null,
  type: string,
  keys: string[],
  fetch: (missing: string[]) => Promise<Map<string, T>>,
  tagsOf: (key: string, value: T) => string[],
): Promise<Map<string, T>> {
  if (!rc?.entities || !keys.length) return fetch(keys);
  const ttlMs = rc.ttlMs(type);
  // The type's own tag too, so purgeCache(type) reaches lists and pages, not only entities.
  return rc.core.readThrough(rc.scope, keys, fetch, (key, value) => ({ tags: [...tagsOf(key, value), type], ttlMs }));
}

export async function readThroughOne<T>(
  rc: RequestCache | null,
  type: string,
  key: string,
  fetch: () => Promise<T>,
  tagsOf: (value: T) => string[],
): Promise<T> {
  const result = await readThroughMany(
    rc,
    type,
    [key],
    async () => new Map([[key, await fetch()]]),
    (_k, v) => tagsOf(v),
  );
  return result.get(key)!;
}
