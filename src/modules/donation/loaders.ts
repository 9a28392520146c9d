import type { Executor } from '../../db/client.js';
import type { DonationRow } from '../../db/schema.js';
import { byIdLoader, countLoader, listLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { donationCache, donationsByCampaignList, donationsByDonorList } from './cache.js';
import { donationCountsByParent, donationPagesByParent, donationsByIds } from './repository.js';

/** One page of one parent's donations: `limit` rows (one more than shown) after the cursor's id. */
export interface PageKey {
  [param: string]: number | null;
  parent: number;
  limit: number;
  after: number | null;
}

export function createDonationLoaders(db: Executor, rc: RequestCache | null) {
  const pages = (list: typeof donationsByDonorList, column: 'donor_id' | 'campaign_id', parentOf: (r: DonationRow) => number) =>
    listLoader<never, DonationRow, PageKey>(
      list,
      'parent',
      (ids, { limit, after }) => donationPagesByParent(db, column, ids, limit, after),
      parentOf,
      rc,
    );
  return {
    donation: byIdLoader(donationCache, (ids) => donationsByIds(db, ids), rc),
    donationPageByDonor: pages(donationsByDonorList, 'donor_id', (r) => r.donorId),
    donationPageByCampaign: pages(donationsByCampaignList, 'campaign_id', (r) => r.campaignId!),
    donationCountByDonor: countLoader(donationsByDonorList, 'parent', (ids) => donationCountsByParent(db, 'donor_id', ids), rc),
    donationCountByCampaign: countLoader(donationsByCampaignList, 'parent', (ids) => donationCountsByParent(db, 'campaign_id', ids), rc),
  };
}
