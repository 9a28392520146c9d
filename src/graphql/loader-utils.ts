import DataLoader from 'dataloader';
import { entityTag, listKey } from '../modules/cache-keys.js';
import { readThroughMany, type RequestCache } from './request-cache.js';

/**
 * A by-id loader keeping DataLoader's contract: one value per key, in key order,
 * null for a miss. Reads go through the entity cache (`Type:id`) first; ids that
 * cannot exist (0) never reach the database.
 */
export function byIdLoader<T extends { id: number }>(
  type: string,
  fetch: (ids: number[]) => Promise<T[]>,
  rc: RequestCache | null,
): DataLoader<number, T | null> {
  return new DataLoader<number, T | null>(async (ids) => {
    const wanted = [...new Set(ids.filter((k) => k > 0))];
    const found = await readThroughMany<T>(
      rc,
      type,
      wanted.map((id) => entityTag(type, id)),
      async (missing) => {
        const rows = missing.length ? await fetch(missing.map((k) => Number(k.slice(type.length + 1)))) : [];
        return new Map(rows.map((row) => [entityTag(type, row.id), row]));
      },
      (key) => [key, type],
    );
    return ids.map((id) => found.get(entityTag(type, id)) ?? null);
  });
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

export interface PageKey {
  parentId: number;
  /** Rows wanted; the loader fetches one more to learn whether a next page exists. */
  limit: number;
  /** Exclusive cursor position (an id), or null for the first page. */
  afterId: number | null;
}

export interface ChildList {
  /** The GraphQL type of the children (its TTL applies). */
  type: string;
  /** Names the cached list of one parent, e.g. "Donation:donor". */
  name: string;
  /** The list tag a change to this parent's children invalidates. */
  listTag(parentId: number): string;
  /** Entity tags of one child. */
  tagsOf(row: unknown): string[];
}

/**
 * Pages of children for many parents. Each parent's page is cached under its own key;
 * the parents that miss, sharing (limit, afterId) as every parent under one field of
 * one query does, are fetched in ONE statement.
 */
export function pageLoader<T>(
  list: ChildList,
  fetchGroup: (parentIds: number[], limit: number, afterId: number | null) => Promise<T[]>,
  parentOf: (row: T) => number,
  rc: RequestCache | null,
): DataLoader<PageKey, T[], string> {
  const keyOf = (k: PageKey) => listKey(list.name, { parent: k.parentId, limit: k.limit, after: k.afterId });
  return new DataLoader<PageKey, T[], string>(
    async (keys) => {
      const byKey = new Map(keys.map((k) => [keyOf(k), k]));
      const pages = await readThroughMany<T[]>(
        rc,
        list.type,
        [...byKey.keys()],
        async (missing) => {
          const groups = new Map<string, PageKey[]>();
          for (const m of missing) {
            const k = byKey.get(m)!;
            const g = `${k.limit}:${k.afterId}`;
            groups.set(g, [...(groups.get(g) ?? []), k]);
          }
          const out = new Map<string, T[]>();
          await Promise.all(
            [...groups.values()].map(async (group) => {
              const { limit, afterId } = group[0]!;
              const parentIds = [...new Set(group.map((k) => k.parentId))];
              const rows = await fetchGroup(parentIds, limit, afterId);
              const byParent = groupByKey(parentIds, rows, parentOf);
              for (const k of group) out.set(keyOf(k), byParent[parentIds.indexOf(k.parentId)]!);
            }),
          );
          return out;
        },
        (key, rows) => [list.listTag(byKey.get(key)!.parentId), ...rows.flatMap((r) => list.tagsOf(r))],
      );
      return keys.map((k) => pages.get(keyOf(k)) ?? []);
    },
    { cacheKeyFn: keyOf },
  );
}

/** Counts per parent in one statement (cached under the parent's list tag); 0 for parents without rows. */
export function countLoader(
  list: ChildList,
  fetch: (parentIds: number[]) => Promise<{ parentId: number; count: number }[]>,
  rc: RequestCache | null,
): DataLoader<number, number> {
  const keyOf = (id: number) => listKey(`${list.name}:count`, { parent: id });
  return new DataLoader<number, number>(async (ids) => {
    const unique = [...new Set(ids)];
    const counts = await readThroughMany<number>(
      rc,
      list.type,
      unique.map(keyOf),
      async (missing) => {
        const parentIds = unique.filter((id) => missing.includes(keyOf(id)));
        const rows = await fetch(parentIds);
        const byId = new Map(rows.map((c) => [c.parentId, Number(c.count)]));
        return new Map(parentIds.map((id) => [keyOf(id), byId.get(id) ?? 0]));
      },
      (key) => [list.listTag(unique.find((id) => keyOf(id) === key)!)],
    );
    return ids.map((id) => counts.get(keyOf(id)) ?? 0);
  });
}
