// The cache as one operation sees it: the core, this operation's scope (fence,
// epoch, collected tags) and per-type TTLs from the schema's @cacheControl hints.
// Reads name what they read by a declaration (cache/declare.ts): keys and tags come from it,
// and every read adds the tags of what it read to the operation's response.
import type { Cache, CacheScope } from '../cache/cache.js';
import type { AggregateDecl, ListDecl, Params } from '../cache/declare.js';

export type CacheMode = 'off' | 'entity' | 'full';

export interface RequestCache {
  core: Cache;
  scope: CacheScope;
  /** Entity and list reads go through the cache (modes entity and full). */
  entities: boolean;
  /** Fresh lifetime of a cached value of this GraphQL type. */
  ttlMs(type: string): number;
}

/** Thrown when a batch fetch answers a key it was not asked for: caching it would put one answer under another's key. */
export class ForeignKeyError extends Error {}

/**
 * Read-through for many keys of one GraphQL type in one round trip: hits from the
 * cache, the rest from `fetch` in one batch, written back fenced. `fetch` must answer
 * only keys it was asked for (and, when `complete`, every one of them); otherwise this throws
 * rather than store or return an answer under a key it does not belong to.
 */
export async function readThroughMany<T>(
  rc: RequestCache | null,
  type: string,
  keys: string[],
  fetch: (missing: string[]) => Promise<Map<string, T>>,
  tagsOf: (key: string, value: T) => string[],
  complete = false,
): Promise<Map<string, T>> {
  const checked = async (missing: string[]) => {
    const found = await fetch(missing);
    const asked = new Set(missing);
    for (const key of found.keys()) if (!asked.has(key)) throw new ForeignKeyError(`a ${type} fetch answered ${JSON.stringify(key)}, which it was not asked for`);
    if (complete) for (const key of missing) if (!found.has(key)) throw new ForeignKeyError(`a ${type} fetch did not answer ${JSON.stringify(key)}`);
    return found;
  };
  if (!rc?.entities || !keys.length) return checked(keys);
  const ttlMs = rc.ttlMs(type);
  // The type's own tag too, so purgeCache(type) reaches lists and pages, not only entities.
  return rc.core.readThrough(rc.scope, keys, checked, (key, value) => ({ tags: [...tagsOf(key, value), type], ttlMs }));
}

/** Adds tags to what this operation's response is known to contain (only reads here call it). */
function noteRead(rc: RequestCache | null, tags: Iterable<string>): void {
  if (rc) for (const t of tags) rc.scope.tags.add(t);
}

/**
 * Reads of a declared list, many at once (one per `values`): each is cached under the list's key
 * for its values, tagged with the list's tag and its elements' tags, and tags the response.
 * `fetch` gets the values that missed and answers one page per value, in order.
 */
export function readLists<R, E>(
  rc: RequestCache | null,
  list: ListDecl<R, E>,
  values: Params[],
  fetch: (missing: Params[]) => Promise<E[][]>,
): Promise<E[][]> {
  return readPerValue(rc, list, values, list.key, 'pages', fetch, (rows) => rows.flatMap((r) => list.elementTags(r)));
}

/** One read of a declared list. */
export async function readList<R, E>(rc: RequestCache | null, list: ListDecl<R, E>, values: Params, fetch: () => Promise<E[]>): Promise<E[]> {
  const [rows] = await readLists(rc, list, [values], async () => [await fetch()]);
  return rows!;
}

/** Counts of a declared list for many filter values, cached under its count key and tagged with its tag. */
export function readCounts(
  rc: RequestCache | null,
  list: ListDecl<unknown, unknown>,
  values: Params[],
  fetch: (missing: Params[]) => Promise<number[]>,
): Promise<number[]> {
  return readPerValue(rc, list, values, list.countKey, 'counts', fetch, () => []);
}

/**
 * What pages and counts share: one cached value per filter values under `keyOf`, tagged with the
 * list's tag (plus `extraTags` of the value), `fetch` answering the misses one per value, in order.
 */
async function readPerValue<V, R, E>(
  rc: RequestCache | null,
  list: ListDecl<R, E>,
  values: Params[],
  keyOf: (v: Params) => string,
  what: string,
  fetch: (missing: Params[]) => Promise<V[]>,
  extraTags: (value: V) => string[],
): Promise<V[]> {
  const byKey = new Map(values.map((v) => [keyOf(v), v]));
  noteRead(rc, values.map((v) => list.tag(v)));
  const found = await readThroughMany<V>(
    rc,
    list.type,
    [...byKey.keys()],
    async (missing) => {
      const wanted = missing.map((k) => byKey.get(k)!);
      const answers = await fetch(wanted);
      if (answers.length !== wanted.length) throw new ForeignKeyError(`${list.name}: asked for ${wanted.length} ${what}, got ${answers.length}`);
      return new Map(wanted.map((v, i) => [keyOf(v), answers[i]!]));
    },
    (key, value) => [list.tag(byKey.get(key)!), ...extraTags(value)],
    true,
  );
  return values.map((v) => found.get(keyOf(v))!);
}

export async function readCount(rc: RequestCache | null, list: ListDecl<unknown, unknown>, values: Params, fetch: () => Promise<number>): Promise<number> {
  const [n] = await readCounts(rc, list, [values], async () => [await fetch()]);
  return n!;
}

/** A declared aggregate through the cache. */
export async function readAggregate<T>(rc: RequestCache | null, aggregate: AggregateDecl, fetch: () => Promise<T>): Promise<T> {
  noteRead(rc, [aggregate.tag]);
  const found = await readThroughMany<T>(rc, aggregate.type, [aggregate.key], async () => new Map([[aggregate.key, await fetch()]]), () => [aggregate.tag], true);
  return found.get(aggregate.key)!;
}

/** Entity reads tag the response with every id asked, found or not: a later create must drop a cached null. */
export function noteEntityRead(rc: RequestCache | null, tags: Iterable<string>): void {
  noteRead(rc, tags);
}
