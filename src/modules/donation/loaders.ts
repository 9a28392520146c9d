import type { Executor } from '../../db/client.js';
import type { DonationRow } from '../../db/schema.js';
import { byIdLoader, countLoader, pageLoader, type ChildList } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { donationListTag, entityTag } from '../cache-keys.js';
import { donationCountsByParent, donationPagesByParent, donationsByIds } from './repository.js';

const donationsOf = (parent: 'donor' | 'campaign'): ChildList => ({
  type: 'Donation',
  name: `Donation:${parent}`,
  listTag: (id) => donationListTag(parent, id),
  tagsOf: (row) => [entityTag('Donation', (row as DonationRow).id)],
});

export function createDonationLoaders(db: Executor, rc: RequestCache | null) {
  const byDonor = donationsOf('donor');
  const byCampaign = donationsOf('campaign');
  return {
    donation: byIdLoader('Donation', (ids) => donationsByIds(db, ids), rc),
    donationPageByDonor: pageLoader(byDonor, (ids, limit, afterId) => donationPagesByParent(db, 'donor_id', ids, limit, afterId), (r) => r.donorId, rc),
    donationPageByCampaign: pageLoader(
      byCampaign,
      (ids, limit, afterId) => donationPagesByParent(db, 'campaign_id', ids, limit, afterId),
      (r) => r.campaignId!,
      rc,
    ),
    donationCountByDonor: countLoader(byDonor, (ids) => donationCountsByParent(db, 'donor_id', ids), rc),
    donationCountByCampaign: countLoader(byCampaign, (ids) => donationCountsByParent(db, 'campaign_id', ids), rc),
  };
}
