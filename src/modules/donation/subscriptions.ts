// donationRecorded: donations as recorded, optionally of one campaign. The donor's PRIVATE
// fields go through Donor.email/phone like on queries, with the subscriber's own viewer.
import type { GraphQLContext } from '../../graphql/context.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { parseOptionalId } from '../../graphql/ids.js';
import { liveEvents } from '../../pubsub/live.js';
import type { Envelope } from '../../pubsub/pubsub.js';
import type { TopicMap } from '../../pubsub/topics.js';

export const donationFilter =
  (campaignId: number | null) =>
  ({ donation }: TopicMap['donationRecorded']): boolean =>
    campaignId === null || donation.campaignId === campaignId;

export const donationSubscriptions: Resolvers = {
  Subscription: {
    donationRecorded: {
      subscribe: (root, { campaignId, after }) =>
        liveEvents(root, 'donationRecorded', after, donationFilter(parseOptionalId('Campaign', campaignId, 'campaignId'))),
      // The donor as of this donation (its points and lastDonationAt), the hospital primed.
      resolve: ({ payload }: Envelope<'donationRecorded'>, _a: unknown, { loaders }: GraphQLContext) => {
        loaders.donor.prime(payload.donor.id, payload.donor);
        loaders.hospital.prime(payload.hospital.id, payload.hospital);
        return payload.donation;
      },
    },
  },
};
