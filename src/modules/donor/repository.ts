import { and, asc, count, eq, gt, inArray, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { donors, type BloodGroup, type DonorRow } from '../../db/schema.js';

export interface DonorFilter {
  bloodGroup?: BloodGroup | null;
  region?: string | null;
}

function where(filter: DonorFilter, afterId?: number | null): SQL | undefined {
  return and(
    filter.bloodGroup ? eq(donors.bloodGroup, filter.bloodGroup) : undefined,
    filter.region ? eq(donors.region, filter.region) : undefined,
    afterId != null ? gt(donors.id, afterId) : undefined,
  );
}

export function donorsByIds(db: Executor, ids: number[]): Promise<DonorRow[]> {
  return db.select().from(donors).where(inArray(donors.id, ids));
}

/** One page ordered by id; fetch limit = first + 1 to learn about the next page. */
export function donorPage(db: Executor, filter: DonorFilter, limit: number, afterId: number | null): Promise<DonorRow[]> {
  return db.select().from(donors).where(where(filter, afterId)).orderBy(asc(donors.id)).limit(limit);
}

export async function donorCount(db: Executor, filter: DonorFilter): Promise<number> {
  const [row] = await db.select({ n: count() }).from(donors).where(where(filter));
  return Number(row?.n ?? 0);
}
