import DataLoader from 'dataloader';
import { encodeValue, type EntityDecl, type ListDecl, type Params } from '../cache/declare.js';
import { noteEntityRead, readCounts, readLists, readMemberLists, readThroughMany, type RequestCache } from './request-cache.js';

type IdPart = string | number;

/**
 * Entity values for `keys` (`Type:id`, each the key of an id in `idOf`) through the entity cache,
 * the misses fetched by id in one batch; the response is tagged with every key asked, found or not
 * (a later create must drop a cached null).
 */
async function readEntities<R, T extends R, I>(
  rc: RequestCache | null,
  entity: EntityDecl<R>,
  keys: readonly string[],
  idOf: (key: string) => I | null,
  fetch: (ids: I[]) => Promise<T[]>,
): Promise<Map<string, T>> {
  noteEntityRead(rc, keys);
  const wanted = [...new Set(keys.filter((k) => idOf(k) !== null))];
  return readThroughMany<T>(
    rc,
    entity.type,
    wanted,
    async (missing) => {
      const rows = missing.length ? await fetch(missing.map((k) => idOf(k)!)) : [];
      return new Map(rows.map((row) => [entity.tag(row), row]));
    },
    (_key, row) => entity.readTags(row),
  );
}

/**
 * A by-id loader keeping DataLoader's contract: one value per key, in key order,
 * null for a miss. Reads go through the entity cache (`Type:id`) first; ids that
 * cannot exist (0) never reach the database.
 */
export function byIdLoader<T extends { id: number }>(
  entity: EntityDecl<T>,
  fetch: (ids: number[]) => Promise<T[]>,
  rc: RequestCache | null,
): DataLoader<number, T | null> {
  return new DataLoader<number, T | null>(async (ids) => {
    const idOf = new Map(ids.map((id) => [entity.key(id), id > 0 ? id : null]));
    const found = await readEntities(rc, entity, [...idOf.keys()], (k) => idOf.get(k) ?? null, fetch);
    return ids.map((id) => found.get(entity.key(id)) ?? null);
  });
}

/**
 * A loader by entity key (`Type:id`, ids of any shape: `InventoryItem:3:O_NEG`) through the entity
 * cache; null for a key no row answers. What membership-only lists assemble their rows with.
 */
export function byKeyLoader<R, T extends R>(entity: EntityDecl<R>, fetch: (ids: IdPart[][]) => Promise<T[]>, rc: RequestCache | null): DataLoader<string, T | null> {
  return new DataLoader<string, T | null>(async (keys) => {
    const found = await readEntities(rc, entity, keys, (k) => entity.idOfKey(k), fetch);
    return keys.map((k) => found.get(k) ?? null);
  });
}

/**
 * A membership-only list read per parent (request-cache readMemberLists): memberships that missed
 * are fetched for every parent under one field in one statement, rows of those that hit are
 * loaded by key through `rows` (one batch).
 */
export function memberListLoader<R, S extends R, K extends Params>(
  list: ListDecl<R, unknown>,
  parent: keyof K & string,
  fetchGroup: (parentIds: number[]) => Promise<S[]>,
  parentOf: (row: S) => number,
  rows: DataLoader<string, S | null>,
  rc: RequestCache | null,
): DataLoader<K, S[], string> {
  return new DataLoader<K, S[], string>(
    (keys) =>
      readMemberLists(
        rc,
        list,
        [...keys],
        async (missing) => {
          const parentIds = [...new Set(missing.map((k) => k[parent] as number))];
          const byParent = groupByKey(parentIds, await fetchGroup(parentIds), parentOf);
          return missing.map((k) => byParent[parentIds.indexOf(k[parent] as number)]!);
        },
        async (wanted) => loadedOrThrow(await rows.loadMany(wanted)),
      ),
    { cacheKeyFn: (k) => list.key(k) },
  );
}

/** loadMany's answer, a failed load failing the whole read: a list must never come back shortened. */
export function loadedOrThrow<T>(loaded: (T | Error)[]): T[] {
  const failed = loaded.find((r): r is Error => r instanceof Error);
  if (failed) throw failed;
  return loaded as T[];
}

/** Groups rows by a parent key, in key order, [] for parents without rows. */
export function groupByKey<K, T>(keys: readonly K[], rows: T[], keyOf: (row: T) => K): T[][] {
  const groups = new Map<K, T[]>();
  for (const row of rows) {
    const k = keyOf(row);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(row);
  }
  return keys.map((k) => groups.get(k) ?? []);
}

/**
 * Reads of one declared list for many parameter values (one per load), cached per value under
 * the list's key. Loads whose values share everything but `parent` (as every parent under one
 * field of one query does) reach `fetchGroup` together: ONE statement for many parents.
 */
export function listLoader<R, E, K extends Params>(
  list: ListDecl<R, E>,
  parent: keyof K & string,
  fetchGroup: (parentIds: number[], rest: K) => Promise<E[]>,
  parentOf: (row: E) => number,
  rc: RequestCache | null,
): DataLoader<K, E[], string> {
  const groupOf = (k: K) =>
    Object.keys(k)
      .filter((p) => p !== parent)
      .sort()
      .map((p) => `${p}=${encodeValue(k[p])}`)
      .join('&');
  return new DataLoader<K, E[], string>(
    (keys) =>
      readLists(rc, list, [...keys], async (missing) => {
        const groups = new Map<string, K[]>();
        for (const m of missing as K[]) {
          const g = groupOf(m);
          groups.set(g, [...(groups.get(g) ?? []), m]);
        }
        const out = new Map<K, E[]>();
        await Promise.all(
          [...groups.values()].map(async (group) => {
            const parentIds = [...new Set(group.map((k) => k[parent] as number))];
            const byParent = groupByKey(parentIds, await fetchGroup(parentIds, group[0]!), parentOf);
            for (const k of group) out.set(k, byParent[parentIds.indexOf(k[parent] as number)]!);
          }),
        );
        return (missing as K[]).map((m) => out.get(m)!);
      }),
    { cacheKeyFn: (k) => list.key(k) },
  );
}

/** Counts per parent of a declared list in one statement; 0 for parents without rows. */
export function countLoader<R, E>(
  list: ListDecl<R, E>,
  parent: string,
  fetch: (parentIds: number[]) => Promise<{ parentId: number; count: number }[]>,
  rc: RequestCache | null,
): DataLoader<number, number> {
  return new DataLoader<number, number>((ids) =>
    readCounts(
      rc,
      list as ListDecl<unknown, unknown>,
      ids.map((id) => ({ [parent]: id })),
      async (missing) => {
        const parentIds = missing.map((m) => m[parent] as number);
        const byId = new Map((await fetch(parentIds)).map((c) => [c.parentId, Number(c.count)]));
        return parentIds.map((id) => byId.get(id) ?? 0);
      },
    ),
  );
}
