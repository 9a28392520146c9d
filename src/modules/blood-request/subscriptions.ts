// bloodRequestChanged: requests created, fulfilled or cancelled, filtered on the server.
import { urgencyEnum, type Urgency } from '../../db/schema.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { liveEvents } from '../../pubsub/live.js';
import type { Envelope } from '../../pubsub/pubsub.js';
import type { TopicMap } from '../../pubsub/topics.js';

export interface BloodRequestFilter {
  /** The hospital's region, exact. */
  region?: string | null;
  /** Keeps requests at least this urgent (ROUTINE < URGENT < EMERGENCY). */
  minUrgency?: Urgency | null;
}

const rank = (u: Urgency) => urgencyEnum.enumValues.indexOf(u);

export const bloodRequestFilter =
  ({ region, minUrgency }: BloodRequestFilter) =>
  ({ request, hospital }: TopicMap['bloodRequestChanged']): boolean =>
    (!region || hospital.region === region) && (!minUrgency || rank(request.urgency) >= rank(minUrgency));

export const bloodRequestSubscriptions: Resolvers = {
  Subscription: {
    bloodRequestChanged: {
      subscribe: (root, { region, minUrgency, after }) =>
        liveEvents(root, 'bloodRequestChanged', after, bloodRequestFilter({ region, minUrgency })),
      resolve: ({ payload }: Envelope<'bloodRequestChanged'>, _a: unknown, { loaders }: GraphQLContext) => {
        loaders.hospital.prime(payload.hospital.id, payload.hospital);
        return payload.request;
      },
    },
  },
};
