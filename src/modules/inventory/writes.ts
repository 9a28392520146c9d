import { and, eq, gte, sql } from 'drizzle-orm';
import { commitOrder } from '../../after-commit.js';
import { hospitals, inventory, type BloodGroup, type InventoryRow } from '../../db/schema.js';
import { refuse, type WriteOutcome, type WriteTx } from '../../write.js';
import { inventoryItemCache } from './cache.js';

/**
 * Adds delta units to a hospital's stock of one group inside an open transaction.
 * The conditional update (units + delta >= 0) makes concurrent removals safe:
 * the row lock serialises them and the loser sees the already-reduced stock.
 */
export async function changeStock(
  tx: WriteTx,
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

export async function adjustInventory(tx: WriteTx, hospitalId: number, bloodGroup: BloodGroup, delta: number): Promise<WriteOutcome<InventoryRow>> {
  const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, hospitalId));
  if (!hospital) return refuse('not-found', `Hospital ${hospitalId} does not exist.`, { type: 'Hospital', id: String(hospitalId) });
  const item = await changeStock(tx, hospitalId, bloodGroup, delta);
  if (!item) {
    const [current] = await tx
      .select({ units: inventory.units })
      .from(inventory)
      .where(and(eq(inventory.hospitalId, hospitalId), eq(inventory.bloodGroup, bloodGroup)));
    const available = current?.units ?? 0;
    return refuse('insufficient-stock', `Not enough ${bloodGroup} in stock: ${available} units, cannot remove ${-delta}.`, { available });
  }
  return {
    ok: true,
    value: item,
    effects: {
      tags: inventoryItemCache.tagsOf({ ...item, region: hospital.region }),
      events: [{ topic: 'inventoryChanged', item, hospital, version: await commitOrder(tx) }, { topic: 'dashboardStatsUpdated' }],
    },
  };
}
