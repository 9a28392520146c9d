import type { Executor } from '../../db/client.js';
import { byIdLoader, countLoader, pageLoader } from '../../graphql/loader-utils.js';
import { donationCountsByParent, donationPagesByParent, donationsByIds } from './repository.js';

export function createDonationLoaders(db: Executor) {
  return {
    donation: byIdLoader((ids) => donationsByIds(db, ids)),
    donationPageByDonor: pageLoader(
      (ids, limit, afterId) => donationPagesByParent(db, 'donor_id', ids, limit, afterId),
      (row) => row.donorId,
    ),
    donationPageByCampaign: pageLoader(
      (ids, limit, afterId) => donationPagesByParent(db, 'campaign_id', ids, limit, afterId),
      (row) => row.campaignId!,
    ),
    donationCountByDonor: countLoader((ids) => donationCountsByParent(db, 'donor_id', ids)),
    donationCountByCampaign: countLoader((ids) => donationCountsByParent(db, 'campaign_id', ids)),
  };
}
