// What of stock is cached: a hospital's stock of every group (Hospital.inventory) and
// availability(bloodGroup, region). An item is named by its hospital and group; the lists it is
// in also depend on its hospital's region, so a write names the region too.
import { defineEntity, defineList } from '../../cache/declare.js';
import { inventory, type HospitalRow, type InventoryRow } from '../../db/schema.js';
import { hospitalCache } from '../hospital/cache.js';

export type InventoryItemView = Pick<InventoryRow, 'hospitalId' | 'bloodGroup'> & { region: string };

export const inventoryItemCache = defineEntity<InventoryItemView>({ type: 'InventoryItem', id: ['hospitalId', 'bloodGroup'], table: inventory });

export const inventoryByHospitalList = defineList<InventoryItemView, InventoryRow>({
  name: 'inventoryByHospital',
  of: inventoryItemCache,
  filters: [{ name: 'hospital', of: (i) => i.hospitalId }],
});

/** Rows are the item with its hospital (one join): an entry holds both. */
export const availabilityList = defineList<InventoryItemView, { item: InventoryRow; hospital: HospitalRow }>({
  name: 'availability',
  of: inventoryItemCache,
  filters: [
    { name: 'bloodGroup', of: (i) => i.bloodGroup },
    { name: 'region', of: (i) => i.region, optional: true },
  ],
  elementTags: ({ item, hospital }) => [...inventoryItemCache.readTags(item), ...hospitalCache.readTags(hospital)],
});

export const inventoryDeclarations = [inventoryItemCache, inventoryByHospitalList, availabilityList];
