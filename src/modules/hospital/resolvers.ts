import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { parseId } from '../../graphql/ids.js';
import { hospitalList } from './repository.js';
import { readThroughOne, tagResponse } from '../../graphql/request-cache.js';
import { entityTag, hospitalInventoryTag, hospitalListTag, hospitalRequestsTag, listKey } from '../cache-keys.js';

export const hospitalResolvers: Resolvers = {
  Query: {
    hospital: (_p, { id }, { loaders, cache }) => {
      const hospitalId = parseId('Hospital', id);
      tagResponse(cache, entityTag('Hospital', hospitalId));
      return loaders.hospital.load(hospitalId);
    },
    hospitals: async (_p, { region }, { services, loaders, cache }) => {
      const listTag = hospitalListTag(region);
      tagResponse(cache, listTag);
      const list = await readThroughOne(cache, 'Hospital', listKey('hospitals', { region }), () => hospitalList(services.database.db, region), (rows) => [
        listTag,
        ...rows.map((h) => entityTag('Hospital', h.id)),
      ]);
      for (const h of list) loaders.hospital.prime(h.id, h);
      return list;
    },
  },
  Hospital: {
    inventory: (h, _a, { loaders, cache }) => {
      tagResponse(cache, hospitalInventoryTag(h.id));
      return loaders.inventoryByHospital.load(h.id);
    },
    requests: (h, { status }, { loaders, cache }) => {
      tagResponse(cache, hospitalRequestsTag(h.id));
      return loaders.requestsByHospital.load({ hospitalId: h.id, status: status ?? null });
    },
  },
};
