import { and, asc, desc, eq, getTableColumns, gt, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { hospitals, inventory, type BloodGroup, type HospitalRow, type InventoryRow } from '../../db/schema.js';

/** availability(): stock of one group, most units first, with each row's hospital (one statement). */
export async function availability(
  db: Executor,
  bloodGroup: BloodGroup,
  region: string | null | undefined,
): Promise<{ item: InventoryRow; hospital: HospitalRow }[]> {
  const result = await db
    .select({ item: getTableColumns(inventory), hospital: getTableColumns(hospitals) })
    .from(inventory)
    .innerJoin(hospitals, eq(hospitals.id, inventory.hospitalId))
    .where(and(eq(inventory.bloodGroup, bloodGroup), gt(inventory.units, 0), region ? eq(hospitals.region, region) : undefined))
    .orderBy(desc(inventory.units), asc(inventory.hospitalId));
  return result;
}

/** Every blood group's stock for many hospitals, in enum order. */
export function inventoryByHospitals(db: Executor, hospitalIds: number[]): Promise<InventoryRow[]> {
  return db
    .select()
    .from(inventory)
    .where(inArray(inventory.hospitalId, hospitalIds))
    .orderBy(asc(inventory.hospitalId), asc(inventory.bloodGroup));
}
