import DataLoader from 'dataloader';

/**
 * A by-id loader keeping DataLoader's contract: one value per key, in key order,
 * null for a miss. Ids that cannot exist (0) never reach the database.
 */
export function byIdLoader<T extends { id: number }>(fetch: (ids: number[]) => Promise<T[]>): DataLoader<number, T | null> {
  return new DataLoader<number, T | null>(async (keys) => {
    const wanted = keys.filter((k) => k > 0);
    const found = wanted.length ? await fetch([...new Set(wanted)]) : [];
    const byId = new Map(found.map((row) => [row.id, row]));
    return keys.map((k) => byId.get(k) ?? null);
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

/**
 * Pages of children for many parents. Keys sharing (limit, afterId) — every parent
 * under one field of one query — are fetched in ONE statement.
 */
export function pageLoader<T>(
  fetchGroup: (parentIds: number[], limit: number, afterId: number | null) => Promise<T[]>,
  parentOf: (row: T) => number,
): DataLoader<PageKey, T[], string> {
  return new DataLoader<PageKey, T[], string>(
    async (keys) => {
      const groups = new Map<string, PageKey[]>();
      for (const key of keys) {
        const g = `${key.limit}:${key.afterId}`;
        groups.set(g, [...(groups.get(g) ?? []), key]);
      }
      const results = new Map<string, T[]>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const { limit, afterId } = group[0]!;
          const parentIds = [...new Set(group.map((k) => k.parentId))];
          const rows = await fetchGroup(parentIds, limit, afterId);
          const byParent = groupByKey(parentIds, rows, parentOf);
          parentIds.forEach((id, i) => results.set(`${id}:${limit}:${afterId}`, byParent[i]!));
        }),
      );
      return keys.map((k) => results.get(`${k.parentId}:${k.limit}:${k.afterId}`) ?? []);
    },
    { cacheKeyFn: (k) => `${k.parentId}:${k.limit}:${k.afterId}` },
  );
}

/** Counts per parent in one statement; 0 for parents without rows. */
export function countLoader(fetch: (parentIds: number[]) => Promise<{ parentId: number; count: number }[]>): DataLoader<number, number> {
  return new DataLoader<number, number>(async (keys) => {
    const counts = await fetch([...new Set(keys)]);
    const byId = new Map(counts.map((c) => [c.parentId, Number(c.count)]));
    return keys.map((k) => byId.get(k) ?? 0);
  });
}
