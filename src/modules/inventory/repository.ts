import { and, asc, desc, eq, getTableColumns, gt, inArray, or } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { hospitals, inventory, type BloodGroup, type HospitalRow, type InventoryRow } from '../../db/schema.js';
import type { StockRow } from './cache.js';

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

/** Items by (hospital, group), each with its hospital's region (one statement); absent pairs are left out. */
export async function stockByIds(db: Executor, ids: readonly (readonly [number, string])[]): Promise<StockRow[]> {
  if (!ids.length) return [];
  const rows = await db
    .select({ item: getTableColumns(inventory), region: hospitals.region })
    .from(inventory)
    .innerJoin(hospitals, eq(hospitals.id, inventory.hospitalId))
    .where(or(...ids.map(([h, g]) => and(eq(inventory.hospitalId, h), eq(inventory.bloodGroup, g as BloodGroup)))));
  return rows.map((r) => ({ ...r.item, region: r.region }));
}

/** Every blood group's stock for many hospitals, in enum order, each with its hospital's region. */
export async function inventoryByHospitals(db: Executor, hospitalIds: number[]): Promise<StockRow[]> {
  const rows = await db
    .select({ item: getTableColumns(inventory), region: hospitals.region })
    .from(inventory)
    .innerJoin(hospitals, eq(hospitals.id, inventory.hospitalId))
    .where(inArray(inventory.hospitalId, hospitalIds))
    .orderBy(asc(inventory.hospitalId), asc(inventory.bloodGroup));
  return rows.map((r) => ({ ...r.item, region: r.region }));
}
