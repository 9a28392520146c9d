// dashboardStatsUpdated: coalesced pushes of the current totals (see pubsub/snapshot-feed.ts):
// computed once per push per instance, for all of its subscribers.
import type { Database } from '../../db/client.js';
import type { DashboardStatsRow } from '../../db/schema.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import type { Logger } from '../../observability/logger.js';
import { liveRoot, parseAfter } from '../../pubsub/live.js';
import type { PubSub } from '../../pubsub/pubsub.js';
import { createSnapshotFeed, type Snapshot, type SnapshotFeed } from '../../pubsub/snapshot-feed.js';
import { dashboardStats } from './repository.js';

/** At most one push per this many ms per instance. */
export const DASHBOARD_PUSH_INTERVAL_MS = 250;

export function createDashboardFeed(options: {
  pubsub: PubSub;
  database: Database;
  now: () => Date;
  logger: Logger;
  intervalMs?: number;
}): SnapshotFeed<'dashboardStatsUpdated', DashboardStatsRow> {
  return createSnapshotFeed({
    pubsub: options.pubsub,
    topic: 'dashboardStatsUpdated',
    // Straight from PostgreSQL: "current totals" means after the commits that triggered the push.
    compute: () => dashboardStats(options.database.db, options.now()),
    intervalMs: options.intervalMs ?? DASHBOARD_PUSH_INTERVAL_MS,
    logger: options.logger,
  });
}

export const dashboardSubscriptions: Resolvers = {
  Subscription: {
    dashboardStatsUpdated: {
      subscribe: (root, { after }) =>
        liveRoot(root).feeds.dashboardStatsUpdated.subscribe({ after: parseAfter('dashboardStatsUpdated', after) }),
      resolve: (snapshot: Snapshot<'dashboardStatsUpdated', DashboardStatsRow>) => snapshot.payload,
    },
  },
};
