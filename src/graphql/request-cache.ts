// The cache as one operation sees it: the core, this operation's scope (fence,
// epoch, collected tags) and per-type TTLs from the schema's @cacheControl hints.
// Reads name what they read by a declaration (cache/declare.ts): keys and tags come from it,
// and every read adds the tags of what it read to the operation's response.
import type { Cache, CacheScope } from '../cache/cache.js';
import type { AggregateDecl, EntityDecl, ListDecl, Params } from '../cache/declare.js';

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

/**
 * Reads of a membership-only list (ListDecl.members), many at once. The entry of each holds which
 * rows belong (their entity keys), tagged with the list's tag alone, so a write that changes a
 * row's value but not the membership leaves it; the rows then come from their own entity entries
 * through `load` (a batch refetches only the rows that missed), are kept only while they still
 * match, and are put in the declared order. A miss runs `fetch` (one page of rows per value) and
 * uses its rows as they are, also storing them as entity entries for the next assembly.
 */
export async function readMemberLists<R, S extends R = R>(
  rc: RequestCache | null,
  list: ListDecl<R, unknown>,
  values: Params[],
  fetch: (missing: Params[]) => Promise<S[][]>,
  load: (keys: string[]) => Promise<(S | null)[]>,
): Promise<S[][]> {
  const members = list.members;
  if (!members) throw new TypeError(`${list.name} is not declared membership-only`);
  const entity = list.entity;
  const fetched = new Map<string, S[]>();
  const keys = await readPerValue<string[], R, unknown>(
    rc,
    list,
    values,
    list.key,
    'memberships',
    async (missing) => {
      const pages = await fetch(missing);
      pages.forEach((rows, i) => fetched.set(list.key(missing[i]!), rows));
      await storeEntities(rc, entity, pages.flat());
      return pages.map((rows) => rows.map((r) => entity.tag(r)));
    },
    () => [],
  );
  // Rows of the entries that hit, all lists together (one batch).
  const wanted = [...new Set(values.flatMap((v, i) => (fetched.has(list.key(v)) ? [] : keys[i]!)))];
  const loaded = wanted.length ? await load(wanted) : [];
  const rowOf = new Map(wanted.map((k, i) => [k, loaded[i] ?? null]));
  return values.map((v, i) => {
    const rows: S[] = fetched.get(list.key(v)) ?? keys[i]!.flatMap((k) => {
      const row = rowOf.get(k);
      return row == null ? [] : [row];
    });
    // A row changed since the membership was read (by a write not yet acknowledged) may no longer belong.
    return rows.filter((r) => members.matches(r, v)).sort(members.order);
  });
}

/** One read of a membership-only list. */
export async function readMemberList<R, S extends R = R>(
  rc: RequestCache | null,
  list: ListDecl<R, unknown>,
  values: Params,
  fetch: () => Promise<S[]>,
  load: (keys: string[]) => Promise<(S | null)[]>,
): Promise<S[]> {
  const [rows] = await readMemberLists(rc, list, [values], async () => [await fetch()], load);
  return rows!;
}

/**
 * Stores rows a read fetched anyway (a list's rows, a join's other side) as their entities'
 * entries, fenced like any read-through, so the next read assembling them needs no database.
 * Only rows of exactly the shape the entity's loader caches belong here.
 */
export async function storeEntities<R>(rc: RequestCache | null, entity: EntityDecl<R>, rows: readonly R[]): Promise<void> {
  noteEntityRead(rc, rows.flatMap((r) => entity.readTags(r)));
  if (!rc?.entities || !rows.length) return;
  const ttlMs = rc.ttlMs(entity.type);
  if (ttlMs <= 0) return;
  const unique = new Map(rows.map((r) => [entity.tag(r), r]));
  await rc.core.set(rc.scope, [...unique].map(([key, value]) => ({ key, value, tags: entity.readTags(value), ttlMs })));
}
