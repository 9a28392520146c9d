import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { parseId } from '../../graphql/ids.js';
import { readList } from '../../graphql/request-cache.js';
import { hospitalsList } from './cache.js';
import { hospitalList } from './repository.js';

export const hospitalResolvers: Resolvers = {
  Query: {
    hospital: (_p, { id }, { loaders }) => loaders.hospital.load(parseId('Hospital', id)),
    hospitals: async (_p, { region }, { services, loaders, cache }) => {
      const list = await readList(cache, hospitalsList, { region }, () => hospitalList(services.database.db, region));
      for (const h of list) loaders.hospital.prime(h.id, h);
      return list;
    },
  },
};
