import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { dashboardStats } from './repository.js';
import { readThroughOne, tagResponse } from '../../graphql/request-cache.js';
import { DASHBOARD_TAG } from '../cache-keys.js';

export const dashboardResolvers: Resolvers = {
  Query: {
    dashboardStats: (_p, _a, { services, cache }) => {
      tagResponse(cache, DASHBOARD_TAG);
      return readThroughOne(cache, 'DashboardStats', DASHBOARD_TAG, () => dashboardStats(services.database.db, services.now()), () => [DASHBOARD_TAG]);
    },
  },
};
