// Small helpers for the few statements drizzle's builder cannot express
// (per-parent pages with LATERAL over a list of ids).
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/** `"alias"."snake_col" AS "camelKey", ...` so raw rows come back shaped like drizzle's $inferSelect. */
export function columnsOf(table: PgTable, alias: string): SQL {
  const cols = Object.entries(getTableColumns(table)).map(
    ([key, col]) => sql`${sql.identifier(alias)}.${sql.identifier(col.name)} AS ${sql.identifier(key)}`,
  );
  return sql.join(cols, sql`, `);
}

/** An int[] literal of bound parameters: ARRAY[$1, $2, ...]::int[]. */
export function intArray(ids: readonly number[]): SQL {
  return sql`ARRAY[${sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  )}]::int[]`;
}
