import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { badInput } from '../../graphql/errors.js';
import { requireRole } from '../../graphql/guards.js';

/** Types whose entities are cached under `Type:id`. */
export const CACHED_TYPES = ['Donor', 'Hospital', 'InventoryItem', 'BloodRequest', 'Campaign', 'Donation', 'DashboardStats'];

export const adminResolvers: Resolvers = {
  Mutation: {
    purgeCache: async (_p, { type, id }, { viewer, services }) => {
      requireRole(viewer, 'ADMIN');
      if (type !== '*' && !CACHED_TYPES.includes(type)) throw badInput(`type must be "*" (everything) or one of ${CACHED_TYPES.join(', ')}.`, 'type');
      if (id != null && !/^[\w:-]{1,64}$/.test(id)) throw badInput('id is not a valid id.', 'id');
      return services.purgeCache(type, id ?? null);
    },
  },
};
