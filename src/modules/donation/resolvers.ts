import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { requireRole } from '../../graphql/guards.js';
import { parseId, parseOptionalId } from '../../graphql/ids.js';
import { intRange } from '../../graphql/validate.js';
import { recordDonation } from './writes.js';

export const donationResolvers: Resolvers = {
  Mutation: {
    recordDonation: async (_p, { input }, { viewer, services }) => {
      requireRole(viewer, 'STAFF', 'ADMIN');
      const values = {
        donorId: parseId('Donor', input.donorId, 'input.donorId'),
        hospitalId: parseId('Hospital', input.hospitalId, 'input.hospitalId'),
        campaignId: parseOptionalId('Campaign', input.campaignId, 'input.campaignId'),
        units: intRange('input.units', input.units, 1, 2),
      };
      const now = services.now();
      return services.write.one(recordDonation(values, now), {
        field: (reason) => (reason === 'not-eligible' ? 'input.donorId' : 'input.campaignId'),
      });
    },
  },
  Donation: {
    donor: async (d, _a, { loaders }) => (await loaders.donor.load(d.donorId))!,
    hospital: async (d, _a, { loaders }) => (await loaders.hospital.load(d.hospitalId))!,
    campaign: (d, _a, { loaders }) => (d.campaignId ? loaders.campaign.load(d.campaignId) : null),
  },
};
