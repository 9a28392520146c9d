import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import {
  bloodRequests,
  hospitals,
  inventory,
  type BloodRequestRow,
  type HospitalRow,
  type InventoryRow,
  type RequestStatus,
} from '../../db/schema.js';

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

/** Every blood group's stock for many hospitals, in enum order. */
export function inventoryByHospitals(db: Executor, hospitalIds: number[]): Promise<InventoryRow[]> {
  return db
    .select()
    .from(inventory)
    .where(inArray(inventory.hospitalId, hospitalIds))
    .orderBy(asc(inventory.hospitalId), asc(inventory.bloodGroup));
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
