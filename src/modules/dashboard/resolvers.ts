import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { dashboardStats } from './repository.js';
import { readAggregate } from '../../graphql/request-cache.js';
import { dashboardStatsCache } from './cache.js';

/** There is one set of network-wide totals; its id lets client caches keep one copy that every push updates. */
export const DASHBOARD_STATS_ID = 'network';

export const dashboardResolvers: Resolvers = {
  DashboardStats: {
    id: () => DASHBOARD_STATS_ID,
  },
  BloodGroupUnits: {
    id: (units) => `${DASHBOARD_STATS_ID}:${units.bloodGroup}`,
  },
  Query: {
    dashboardStats: (_p, _a, { services, cache }) => readAggregate(cache, dashboardStatsCache, () => dashboardStats(services.database.db, services.now())),
  },
};
