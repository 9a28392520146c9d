import { and, eq, gte, sql } from 'drizzle-orm';
import { commitOrder, type WriteEffects } from '../../after-commit.js';
import type { Db, Executor } from '../../db/client.js';
import { hospitals, inventory, type BloodGroup, type InventoryRow } from '../../db/schema.js';
import { inventoryItemCache } from './cache.js';

export type AdjustResult =
  | { ok: true; item: InventoryRow; effects: WriteEffects }
  | { ok: false; reason: 'hospital-not-found' | 'insufficient-stock'; available?: number };

/**
 * Adds delta units to a hospital's stock of one group inside an open transaction.
 * The conditional update (units + delta >= 0) makes concurrent removals safe:
 * the row lock serialises them and the loser sees the already-reduced stock.
 */
export async function changeStock(
  tx: Executor,
  hospitalId: number,
  bloodGroup: BloodGroup,
  delta: number,
): Promise<InventoryRow | null> {
  if (delta >= 0) {
    const [row] = await tx
      .insert(inventory)
      .values({ hospitalId, bloodGroup, units: delta })
      .onConflictDoUpdate({
        target: [inventory.hospitalId, inventory.bloodGroup],
        set: { units: sql`${inventory.units} + ${delta}`, updatedAt: sql`now()` },
      })
      .returning();
    return row ?? null;
  }
  const [row] = await tx
    .update(inventory)
    .set({ units: sql`${inventory.units} + ${delta}`, updatedAt: sql`now()` })
    .where(and(eq(inventory.hospitalId, hospitalId), eq(inventory.bloodGroup, bloodGroup), gte(inventory.units, -delta)))
    .returning();
  return row ?? null;
}

export async function adjustInventory(db: Db, hospitalId: number, bloodGroup: BloodGroup, delta: number): Promise<AdjustResult> {
  return db.transaction(async (tx) => {
    const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, hospitalId));
    if (!hospital) return { ok: false, reason: 'hospital-not-found' } as const;
    const item = await changeStock(tx, hospitalId, bloodGroup, delta);
    if (!item) {
      const [current] = await tx
        .select({ units: inventory.units })
        .from(inventory)
        .where(and(eq(inventory.hospitalId, hospitalId), eq(inventory.bloodGroup, bloodGroup)));
      return { ok: false, reason: 'insufficient-stock', available: current?.units ?? 0 } as const;
    }
    return {
      ok: true,
      item,
      effects: {
        tags: inventoryItemCache.tagsOf({ ...item, region: hospital.region }),
        events: [{ topic: 'inventoryChanged', item, hospital, version: await commitOrder(tx) }, { topic: 'dashboardStatsUpdated' }],
      },
    } as const;
  });
}
