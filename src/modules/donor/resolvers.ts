import { checkPageSize, decodeCursor, encodeCursor, toConnection } from '../../graphql/connection.js';
import { badInput } from '../../graphql/errors.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { canSeePrivate, isStaff, requireViewer } from '../../graphql/guards.js';
import { parseId } from '../../graphql/ids.js';
import { phone, text } from '../../graphql/validate.js';
import { donationConnection } from '../donation/connection.js';
import { forbidden } from '../../graphql/errors.js';
import { isEligible } from './eligibility.js';
import { readCount, readList } from '../../graphql/request-cache.js';
import { donorsList } from './cache.js';
import { donorCount, donorPage } from './repository.js';
import { updateDonor, type DonorChanges } from './writes.js';

export const donorResolvers: Resolvers = {
  Query: {
    // Tagged even when it does not exist yet (the loader tags every id asked): a later register drops a cached null.
    donor: (_p, { id }, { loaders }) => loaders.donor.load(parseId('Donor', id)),
    donors: async (_p, { bloodGroup, region, first, after }, { services, loaders, cache }) => {
      const limit = checkPageSize(first);
      const afterId = decodeCursor('Donor', after);
      const filter = { bloodGroup, region };
      const db = services.database.db;
      const fetched = limit === 0 ? [] : await readList(cache, donorsList, { ...filter, limit, after: afterId }, () => donorPage(db, filter, limit + 1, afterId));
      for (const d of fetched) loaders.donor.prime(d.id, d);
      const totalCount = () => readCount(cache, donorsList, filter, () => donorCount(db, filter));
      return toConnection(fetched, limit, (d) => encodeCursor('Donor', d.id), totalCount, afterId !== null);
    },
    // "Is anyone signed in?" is an everyday question, not an error: null when signed out.
    me: (_p, _a, { viewer, loaders }) => (viewer?.donorId ? loaders.donor.load(viewer.donorId) : null),
  },
  Mutation: {
    updateDonor: async (_p, { id, input }, { viewer, services }) => {
      const v = requireViewer(viewer);
      const donorId = parseId('Donor', id);
      if (!isStaff(v) && v.donorId !== donorId) throw forbidden('Only the donor themself, STAFF or ADMIN may update a donor.');
      const changes: DonorChanges = {};
      if (input.name != null) changes.name = text('input.name', input.name, { max: 100 });
      if (input.region != null) changes.region = text('input.region', input.region, { max: 100 });
      if (input.city != null) changes.city = text('input.city', input.city, { max: 100 });
      if (input.phone !== undefined) changes.phone = input.phone === null ? null : phone('input.phone', input.phone);
      if (Object.keys(changes).length === 0) throw badInput('input must change at least one field.', 'input');
      return services.write.one(updateDonor(donorId, changes));
    },
  },
  Donor: {
    eligible: (d, _a, { services }) => isEligible(d.lastDonationAt, services.now()),
    email: async (d, _a, { viewer, loaders }) => {
      if (!canSeePrivate(viewer, d.id)) return null;
      return d.email !== undefined ? d.email : (await loaders.donorContact.load(d.id)).email;
    },
    phone: async (d, _a, { viewer, loaders }) => {
      if (!canSeePrivate(viewer, d.id)) return null;
      return d.phone !== undefined ? d.phone : (await loaders.donorContact.load(d.id)).phone;
    },
    donations: (d, { first, after }, { loaders }) => donationConnection(loaders.donationPageByDonor, loaders.donationCountByDonor, d.id, first, after),
  },
};
