import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { parseId } from '../../graphql/ids.js';
import { hospitalList } from './repository.js';

export const hospitalResolvers: Resolvers = {
  Query: {
    hospital: (_p, { id }, { loaders }) => loaders.hospital.load(parseId('Hospital', id)),
    hospitals: async (_p, { region }, { services, loaders }) => {
      const list = await hospitalList(services.database.db, region);
      for (const h of list) loaders.hospital.prime(h.id, h);
      return list;
    },
  },
  Hospital: {
    inventory: (h, _a, { loaders }) => loaders.inventoryByHospital.load(h.id),
    requests: (h, { status }, { loaders }) => loaders.requestsByHospital.load({ hospitalId: h.id, status: status ?? null }),
  },
};
