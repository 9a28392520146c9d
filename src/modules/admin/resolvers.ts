import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { badInput } from '../../graphql/errors.js';
import { requireRole } from '../../graphql/guards.js';

export const adminResolvers: Resolvers = {
  Mutation: {
    purgeCache: async (_p, { type, id }, { viewer, services }) => {
      requireRole(viewer, 'ADMIN');
      // The type (and an id's shape) is checked against the cache declarations by services.purgeCache.
      if (id != null && !/^[\w:-]{1,64}$/.test(id)) throw badInput('id is not a valid id.', 'id');
      return services.purgeCache(type, id ?? null);
    },
  },
};
