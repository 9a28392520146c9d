import { and, count, desc, eq, getTableColumns, inArray, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { bloodRequests, hospitals, type BloodRequestRow, type RequestStatus, type Urgency } from '../../db/schema.js';

export interface BloodRequestFilter {
  status?: RequestStatus | null;
  urgency?: Urgency | null;
  region?: string | null;
}

function where(f: BloodRequestFilter, afterId?: number | null) {
  return and(
    f.status ? eq(bloodRequests.status, f.status) : undefined,
    f.urgency ? eq(bloodRequests.urgency, f.urgency) : undefined,
    f.region ? eq(hospitals.region, f.region) : undefined,
    afterId != null ? lt(bloodRequests.id, afterId) : undefined,
  );
}

export function bloodRequestsByIds(db: Executor, ids: number[]): Promise<BloodRequestRow[]> {
  return db.select().from(bloodRequests).where(inArray(bloodRequests.id, ids));
}

/** Newest first; limit = first + 1. */
export function bloodRequestPage(db: Executor, f: BloodRequestFilter, limit: number, afterId: number | null): Promise<BloodRequestRow[]> {
  const q = db.select(getTableColumns(bloodRequests)).from(bloodRequests);
  const joined = f.region ? q.innerJoin(hospitals, eq(hospitals.id, bloodRequests.hospitalId)) : q;
  return joined.where(where(f, afterId)).orderBy(desc(bloodRequests.id)).limit(limit);
}

export async function bloodRequestCount(db: Executor, f: BloodRequestFilter): Promise<number> {
  const q = db.select({ n: count() }).from(bloodRequests);
  const joined = f.region ? q.innerJoin(hospitals, eq(hospitals.id, bloodRequests.hospitalId)) : q;
  const [row] = await joined.where(where(f));
  return Number(row?.n ?? 0);
}

/** Requests of many hospitals, newest first, optionally of one status. */
export function requestsByHospitals(
  db: Executor,
  hospitalIds: number[],
  status: RequestStatus | null,
): Promise<BloodRequestRow[]> {
  return db
    .select()
    .from(bloodRequests)
    .where(and(inArray(bloodRequests.hospitalId, hospitalIds), status ? eq(bloodRequests.status, status) : undefined))
    .orderBy(desc(bloodRequests.id));
}
