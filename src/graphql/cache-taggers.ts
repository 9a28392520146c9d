// Which tags a value of each GraphQL type carries into a cached response, and what
// purgeCache(type, id) invalidates. Entity tags come from the one key module.
import type { BloodGroup } from '../db/schema.js';
import { DASHBOARD_TAG, entityTag, inventoryItemTag } from '../modules/cache-keys.js';
import type { Taggers } from './cache-plugin.js';

const byId = (type: string) => (row: { id: number }) => [entityTag(type, row.id), type];

export const cacheTaggers: Taggers = {
  Donor: byId('Donor'),
  Hospital: byId('Hospital'),
  BloodRequest: byId('BloodRequest'),
  Campaign: byId('Campaign'),
  Donation: byId('Donation'),
  InventoryItem: (row: { hospitalId: number; bloodGroup: BloodGroup }) => [inventoryItemTag(row.hospitalId, row.bloodGroup), 'InventoryItem'],
  DashboardStats: () => [DASHBOARD_TAG],
};

/** A whole type ("Donor": every entry holding any donor) or one entity ("Donor", "42"). */
export function purgeTags(type: string, id: string | null): string[] {
  if (id === null) return [type];
  return type === 'InventoryItem' ? [`InventoryItem:${id}`] : [entityTag(type, id)];
}
