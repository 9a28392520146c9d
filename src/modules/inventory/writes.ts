import { sql } from 'drizzle-orm';
import { hospitals, inventory, type BloodGroup, type InventoryRow } from '../../db/schema.js';
import { decodeRow, parseJson, type JsonRow } from '../../db/row-json.js';
import { refuse, retry, type OneWrite } from '../../write.js';
import { rowJson } from '../../write-statement.js';
import { inventoryItemCache } from './cache.js';

/**
 * One statement. The item's row is locked first, so the change and the refusal both see the
 * current stock; a removal below zero changes nothing. A missing row is inserted (additions
 * only); should another write insert it meanwhile, this statement inserts nothing and is sent
 * again, now finding the row to lock.
 */
export function adjustInventory(hospitalId: number, bloodGroup: BloodGroup, delta: number): OneWrite<InventoryRow> {
  const region = { region: sql`h.region` };
  return {
    with: sql`h AS (SELECT * FROM hospitals WHERE id = ${hospitalId}),
      old AS (SELECT i.* FROM inventory i JOIN h ON i.hospital_id = h.id WHERE i.blood_group = ${bloodGroup}::blood_group FOR UPDATE OF i),
      upd AS (UPDATE inventory i SET units = i.units + ${delta}::int, updated_at = now() FROM old
        WHERE i.hospital_id = old.hospital_id AND i.blood_group = old.blood_group AND i.units + ${delta}::int >= 0 RETURNING i.*),
      ins AS (INSERT INTO inventory (hospital_id, blood_group, units)
        SELECT h.id, ${bloodGroup}::blood_group, ${delta}::int FROM h WHERE ${delta}::int >= 0 AND NOT EXISTS (SELECT 1 FROM old)
        ON CONFLICT DO NOTHING RETURNING *)`,
    changes: [
      { entity: inventoryItemCache, from: sql`old JOIN upd USING (hospital_id, blood_group) CROSS JOIN h`, before: rowJson(inventoryItemCache, 'old', region), after: rowJson(inventoryItemCache, 'upd', region) },
      { entity: inventoryItemCache, from: sql`ins CROSS JOIN h`, before: null, after: rowJson(inventoryItemCache, 'ins', region) },
    ],
    select: sql`(SELECT to_jsonb(h) FROM h) AS hospital, (SELECT units FROM old) AS available,
      (SELECT to_jsonb(x) FROM (SELECT * FROM upd UNION ALL SELECT * FROM ins) x) AS item`,
    decide({ row, commitOrder }) {
      if (row.hospital == null) return refuse('not-found', `Hospital ${hospitalId} does not exist.`, { type: 'Hospital', id: String(hospitalId) });
      if (row.item == null) {
        if (delta >= 0) return retry;
        const available = row.available == null ? 0 : Number(row.available);
        return refuse('insufficient-stock', `Not enough ${bloodGroup} in stock: ${available} units, cannot remove ${-delta}.`, { available });
      }
      const item = decodeRow(inventory, parseJson<JsonRow>(row.item));
      const hospital = decodeRow(hospitals, parseJson<JsonRow>(row.hospital));
      return { ok: true, value: item, events: [{ topic: 'inventoryChanged', item, hospital, version: commitOrder }, { topic: 'dashboardStatsUpdated' }] };
    },
  };
}
