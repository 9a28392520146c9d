import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { dashboardStats } from './repository.js';
import { readAggregate } from '../../graphql/request-cache.js';
import { dashboardStatsCache } from './cache.js';

export const dashboardResolvers: Resolvers = {
  Query: {
    dashboardStats: (_p, _a, { services, cache }) => readAggregate(cache, dashboardStatsCache, () => dashboardStats(services.database.db, services.now())),
  },
};
