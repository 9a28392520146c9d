import { asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { hospitals, type HospitalRow } from '../../db/schema.js';

export function hospitalsByIds(db: Executor, ids: number[]): Promise<HospitalRow[]> {
  return db.select().from(hospitals).where(inArray(hospitals.id, ids));
}

export function hospitalList(db: Executor, region: string | null | undefined): Promise<HospitalRow[]> {
  return db
    .select()
    .from(hospitals)
    .where(region ? eq(hospitals.region, region) : undefined)
    .orderBy(asc(hospitals.name), asc(hospitals.id));
}
