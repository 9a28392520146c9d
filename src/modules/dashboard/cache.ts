// The dashboard's totals are one cached aggregate, moved by any write of the rows it counts.
import { defineAggregate } from '../../cache/declare.js';
import { bloodRequestCache } from '../blood-request/cache.js';
import { donationCache } from '../donation/cache.js';
import { donorCache } from '../donor/cache.js';
import { inventoryItemCache } from '../inventory/cache.js';

export const dashboardStatsCache = defineAggregate({
  type: 'DashboardStats',
  from: [donorCache, bloodRequestCache, inventoryItemCache, donationCache],
});

export const dashboardDeclarations = [dashboardStatsCache];
