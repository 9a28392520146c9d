import type { BloodGroup } from '../../db/schema.js';

/** Everything a stock change of one (hospital, group) moves: the item, its hospital's list, availability lists, the dashboard. */
export function inventoryTags(hospitalId: number, bloodGroup: BloodGroup, region: string): string[] {
  return [
    `InventoryItem:${hospitalId}:${bloodGroup}`,
    `Inventory:hospital:${hospitalId}`,
    `Inventory:${bloodGroup}`,
    `Inventory:${bloodGroup}:region=${region}`,
    'DashboardStats',
  ];
}
