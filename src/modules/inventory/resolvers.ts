import { badInput } from '../../graphql/errors.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { requireRole } from '../../graphql/guards.js';
import { parseId } from '../../graphql/ids.js';
import { intRange } from '../../graphql/validate.js';
import { availability } from './repository.js';
import { loadedOrThrow } from '../../graphql/loader-utils.js';
import { readMemberList, storeEntities } from '../../graphql/request-cache.js';
import { hospitalCache } from '../hospital/cache.js';
import { availabilityList } from './cache.js';
import { adjustInventory } from './writes.js';

export const MAX_ADJUST = 10_000;


/** One item per hospital and blood group: the pair is its identity (what client caches normalize by). */
export const inventoryItemId = (hospitalId: number, bloodGroup: string) => `${hospitalId}:${bloodGroup}`;

export const inventoryResolvers: Resolvers = {
  Query: {
    availability: async (_p, { bloodGroup, region }, { services, loaders, cache }) => {
      return readMemberList(
        cache,
        availabilityList,
        { bloodGroup, region },
        async () => {
          const rows = await availability(services.database.db, bloodGroup, region);
          // The join already fetched each hospital: prime the loader so InventoryItem.hospital costs
          // nothing now, and store them so the next assembly of this list finds them too.
          const hospitals = [...new Map(rows.map(({ hospital }) => [hospital.id, hospital])).values()];
          for (const hospital of hospitals) loaders.hospital.prime(hospital.id, hospital);
          await storeEntities(cache, hospitalCache, hospitals);
          return rows.map(({ item, hospital }) => ({ ...item, region: hospital.region }));
        },
        async (keys) => loadedOrThrow(await loaders.inventoryItem.loadMany(keys)),
      );
    },
  },
  Mutation: {
    adjustInventory: async (_p, { hospitalId, bloodGroup, delta }, { viewer, services }) => {
      requireRole(viewer, 'STAFF', 'ADMIN');
      const id = parseId('Hospital', hospitalId, 'hospitalId');
      intRange('delta', delta, -MAX_ADJUST, MAX_ADJUST);
      if (delta === 0) throw badInput('delta must not be 0.', 'delta');
      return services.write.one(adjustInventory(id, bloodGroup, delta), { field: 'delta' });
    },
  },
  Hospital: {
    inventory: (h, _a, { loaders }) => loaders.inventoryByHospital.load({ hospital: h.id }),
  },
  InventoryItem: {
    id: (item) => inventoryItemId(item.hospitalId, item.bloodGroup),
    hospital: async (item, _a, { loaders }) => (await loaders.hospital.load(item.hospitalId))!,
  },
};
