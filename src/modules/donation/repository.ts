import { inArray, sql } from 'drizzle-orm';
import { rows, type Executor } from '../../db/client.js';
import { donations, type DonationRow } from '../../db/schema.js';
import { columnsOf, intArray } from '../../db/sql.js';

export function donationsByIds(db: Executor, ids: number[]): Promise<DonationRow[]> {
  return db.select().from(donations).where(inArray(donations.id, ids));
}

/**
 * Newest-first pages of donations for many donors or campaigns in one statement:
 * LATERAL runs the indexed per-parent LIMIT for each id in the list.
 */
export function donationPagesByParent(
  db: Executor,
  parent: 'donor_id' | 'campaign_id',
  parentIds: number[],
  limit: number,
  afterId: number | null,
): Promise<DonationRow[]> {
  return rows<DonationRow>(
    db,
    sql`SELECT ${columnsOf(donations, 'd')}
        FROM unnest(${intArray(parentIds)}) AS p(parent_id)
        CROSS JOIN LATERAL (
          SELECT * FROM donations
          WHERE ${sql.identifier(parent)} = p.parent_id
            ${afterId === null ? sql`` : sql`AND id < ${afterId}`}
          ORDER BY id DESC
          LIMIT ${limit}
        ) d`,
  );
}

export function donationCountsByParent(
  db: Executor,
  parent: 'donor_id' | 'campaign_id',
  parentIds: number[],
): Promise<{ parentId: number; count: number }[]> {
  return rows(
    db,
    sql`SELECT ${sql.identifier(parent)} AS "parentId", count(*)::int AS "count"
        FROM donations WHERE ${sql.identifier(parent)} = ANY(${intArray(parentIds)})
        GROUP BY ${sql.identifier(parent)}`,
  );
}
