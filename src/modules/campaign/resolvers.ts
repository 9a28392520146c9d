import { badInput } from '../../graphql/errors.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { requireRole } from '../../graphql/guards.js';
import { parseId } from '../../graphql/ids.js';
import { intRange, text } from '../../graphql/validate.js';
import { donationConnection } from '../donation/connection.js';
import { campaignList } from './repository.js';
import { readList } from '../../graphql/request-cache.js';
import { campaignsList } from './cache.js';
import { createCampaign } from './writes.js';

const MAX_CAMPAIGN_DAYS = 366;

export const campaignResolvers: Resolvers = {
  Query: {
    // Tagged even when it does not exist yet (the loader tags every id asked): a later createCampaign drops a cached null.
    campaign: (_p, { id }, { loaders }) => loaders.campaign.load(parseId('Campaign', id)),
    campaigns: async (_p, { activeOnly, region }, { services, loaders, cache }) => {
      const active = activeOnly ?? true;
      const list = await readList(cache, campaignsList, { activeOnly: active, region }, () => campaignList(services.database.db, active, region, services.now()));
      for (const c of list) loaders.campaign.prime(c.id, c);
      return list;
    },
  },
  Mutation: {
    createCampaign: async (_p, { input }, { viewer, services }) => {
      requireRole(viewer, 'STAFF', 'ADMIN');
      const { startsAt, endsAt } = input;
      if (endsAt.getTime() <= startsAt.getTime()) throw badInput('input.endsAt must be after input.startsAt.', 'input.endsAt');
      if (endsAt.getTime() - startsAt.getTime() > MAX_CAMPAIGN_DAYS * 86_400_000)
        throw badInput(`A campaign may last at most ${MAX_CAMPAIGN_DAYS} days.`, 'input.endsAt');
      const values = {
        hospitalId: parseId('Hospital', input.hospitalId, 'input.hospitalId'),
        title: text('input.title', input.title, { max: 200 }),
        startsAt,
        endsAt,
        goalUnits: intRange('input.goalUnits', input.goalUnits, 1, 100_000),
      };
      return services.write.one(createCampaign(values), { field: 'input.hospitalId' });
    },
  },
  Campaign: {
    hospital: async (c, _a, { loaders }) => (await loaders.hospital.load(c.hospitalId))!,
    donations: (c, { first, after }, { loaders }) => donationConnection(loaders.donationPageByCampaign, loaders.donationCountByCampaign, c.id, first, after),
  },
};
