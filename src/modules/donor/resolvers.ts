import { checkPageSize, decodeCursor, encodeCursor, toConnection } from '../../graphql/connection.js';
import { badInput } from '../../graphql/errors.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { canSeePrivate, isStaff, requireViewer } from '../../graphql/guards.js';
import { parseId } from '../../graphql/ids.js';
import { phone, text } from '../../graphql/validate.js';
import { donationConnection } from '../donation/connection.js';
import { forbidden } from '../../graphql/errors.js';
import { isEligible } from './eligibility.js';
import { readThroughOne, tagResponse } from '../../graphql/request-cache.js';
import { donationListTag, donorListTag, entityTag, listKey } from '../cache-keys.js';
import { donorCount, donorPage } from './repository.js';
import { updateDonor, type DonorChanges } from './writes.js';

export const donorResolvers: Resolvers = {
  Query: {
    donor: (_p, { id }, { loaders, cache }) => {
      const donorId = parseId('Donor', id);
      // Tagged even when it does not exist yet: a later register must drop a cached null.
      tagResponse(cache, entityTag('Donor', donorId));
      return loaders.donor.load(donorId);
    },
    donors: async (_p, { bloodGroup, region, first, after }, { services, loaders, cache }) => {
      const limit = checkPageSize(first);
      const afterId = decodeCursor('Donor', after);
      const filter = { bloodGroup, region };
      const db = services.database.db;
      const listTag = donorListTag(filter);
      tagResponse(cache, listTag);
      const fetched =
        limit === 0
          ? []
          : await readThroughOne(cache, 'Donor', listKey('donors', { ...filter, limit, after: afterId }), () => donorPage(db, filter, limit + 1, afterId), (rows) => [
              listTag,
              ...rows.map((d) => entityTag('Donor', d.id)),
            ]);
      for (const d of fetched) loaders.donor.prime(d.id, d);
      const totalCount = () => readThroughOne(cache, 'Donor', listKey('donors:count', filter), () => donorCount(db, filter), () => [listTag]);
      return toConnection(fetched, limit, (d) => encodeCursor('Donor', d.id), totalCount, afterId !== null);
    },
    me: (_p, _a, { viewer, loaders }) => {
      const v = requireViewer(viewer);
      return v.donorId ? loaders.donor.load(v.donorId) : null;
    },
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
      return services.write((tx) => updateDonor(tx, donorId, changes));
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
    donations: (d, { first, after }, { loaders, cache }) => {
      tagResponse(cache, donationListTag('donor', d.id));
      return donationConnection(loaders.donationPageByDonor, loaders.donationCountByDonor, d.id, first, after);
    },
  },
};
