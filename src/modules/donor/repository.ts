import { and, asc, count, eq, getTableColumns, gt, inArray, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { donors, type BloodGroup, type DonorProfile } from '../../db/schema.js';

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

// Shared caches hold what these return, so the PRIVATE contact columns are not selected.
const { email: _email, phone: _phone, ...profileColumns } = getTableColumns(donors);

export function donorsByIds(db: Executor, ids: number[]): Promise<DonorProfile[]> {
  return db.select(profileColumns).from(donors).where(inArray(donors.id, ids));
}

/** The PRIVATE contact fields, read per request for viewers allowed to see them (never cached). */
export function donorContacts(db: Executor, ids: number[]): Promise<{ id: number; email: string | null; phone: string | null }[]> {
  return db.select({ id: donors.id, email: donors.email, phone: donors.phone }).from(donors).where(inArray(donors.id, ids));
}

/** One page ordered by id; fetch limit = first + 1 to learn about the next page. */
export function donorPage(db: Executor, filter: DonorFilter, limit: number, afterId: number | null): Promise<DonorProfile[]> {
  return db.select(profileColumns).from(donors).where(where(filter, afterId)).orderBy(asc(donors.id)).limit(limit);
}

export async function donorCount(db: Executor, filter: DonorFilter): Promise<number> {
  const [row] = await db.select({ n: count() }).from(donors).where(where(filter));
  return Number(row?.n ?? 0);
}
