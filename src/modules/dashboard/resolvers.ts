import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { dashboardStats } from './repository.js';

export const dashboardResolvers: Resolvers = {
  Query: {
    dashboardStats: (_p, _a, { services }) => dashboardStats(services.database.db, services.now()),
  },
};
