import type { Executor } from '../../db/client.js';
import { byKeyLoader, memberListLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { inventoryByHospitalList, inventoryItemCache, type InventoryItemView, type StockRow } from './cache.js';
import { inventoryByHospitals, stockByIds } from './repository.js';

export function createInventoryLoaders(db: Executor, rc: RequestCache | null) {
  /** Items by key (`InventoryItem:3:O_NEG`) through their entries: what the membership-only lists assemble from. */
  const inventoryItem = byKeyLoader<InventoryItemView, StockRow>(inventoryItemCache, (ids) => stockByIds(db, ids.map(([h, g]) => [Number(h), String(g)] as const)), rc);
  return {
    inventoryItem,
    /** Hospital.inventory: memberships that missed, for every hospital under one field, in one statement. */
    inventoryByHospital: memberListLoader<InventoryItemView, StockRow, { hospital: number }>(
      inventoryByHospitalList,
      'hospital',
      (ids) => inventoryByHospitals(db, ids),
      (r) => r.hospitalId,
      inventoryItem,
      rc,
    ),
  };
}
