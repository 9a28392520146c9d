// What of stock is cached: a hospital's stock of every group (Hospital.inventory) and
// availability(bloodGroup, region). An item is named by its hospital and group; the lists it is
// in also depend on its hospital's region, so a write names the region too.
//
// Both lists are cached as membership only: which items belong, not their units. A stock change
// that leaves an item in the same lists (the usual one: units stay above zero) keeps both list
// entries; the items' units come from their own InventoryItem entries, so only the changed item
// is read again. Availability's order (most units first) is applied when it is assembled.
import { defineEntity, defineList } from '../../cache/declare.js';
import { bloodGroupEnum, inventory, type InventoryRow } from '../../db/schema.js';

/** What an item's tags and list membership are judged by. */
export type InventoryItemView = Pick<InventoryRow, 'hospitalId' | 'bloodGroup' | 'units'> & { region: string };

/** An item as cached (its InventoryItem entry) and as the lists assemble it: the row with its hospital's region. */
export type StockRow = InventoryRow & { region: string };

export const inventoryItemCache = defineEntity<InventoryItemView>({ type: 'InventoryItem', id: ['hospitalId', 'bloodGroup'], table: inventory, writeThrough: true });

/** Blood groups in the enum's order, which is the order SQL sorts them in. */
const GROUP_ORDER: readonly string[] = bloodGroupEnum.enumValues;

export const inventoryByHospitalList = defineList<InventoryItemView>({
  name: 'inventoryByHospital',
  of: inventoryItemCache,
  filters: [{ name: 'hospital', of: (i) => i.hospitalId }],
  members: { order: (a, b) => GROUP_ORDER.indexOf(a.bloodGroup) - GROUP_ORDER.indexOf(b.bloodGroup) },
});

export const availabilityList = defineList<InventoryItemView>({
  name: 'availability',
  of: inventoryItemCache,
  filters: [
    { name: 'bloodGroup', of: (i) => i.bloodGroup },
    { name: 'region', of: (i) => i.region, optional: true },
  ],
  members: { where: (i) => i.units > 0, order: (a, b) => b.units - a.units || a.hospitalId - b.hospitalId },
});

export const inventoryDeclarations = [inventoryItemCache, inventoryByHospitalList, availabilityList];
