// inventoryChanged: stock changes as committed, filtered on the server.
import type { BloodGroup } from '../../db/schema.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { liveEvents } from '../../pubsub/live.js';
import type { Envelope } from '../../pubsub/pubsub.js';
import type { TopicMap } from '../../pubsub/topics.js';

export interface InventoryFilter {
  bloodGroup?: BloodGroup | null;
  /** The hospital's region, exact (as in availability(region:)). */
  region?: string | null;
}

export const inventoryFilter =
  ({ bloodGroup, region }: InventoryFilter) =>
  ({ item, hospital }: TopicMap['inventoryChanged']): boolean =>
    (!bloodGroup || item.bloodGroup === bloodGroup) && (!region || hospital.region === region);

export const inventorySubscriptions: Resolvers = {
  Subscription: {
    inventoryChanged: {
      subscribe: (root, { bloodGroup, region, after }) => liveEvents(root, 'inventoryChanged', after, inventoryFilter({ bloodGroup, region })),
      // The rows as of commit; the hospital is primed so InventoryItem.hospital costs nothing.
      resolve: ({ payload }: Envelope<'inventoryChanged'>, _a: unknown, { loaders }: GraphQLContext) => {
        loaders.hospital.prime(payload.hospital.id, payload.hospital);
        return payload.item;
      },
    },
  },
};
