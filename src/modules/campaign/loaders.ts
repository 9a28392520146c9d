import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { campaignCache } from './cache.js';
import { campaignsByIds } from './repository.js';

export function createCampaignLoaders(db: Executor, rc: RequestCache | null) {
  return { campaign: byIdLoader(campaignCache, (ids) => campaignsByIds(db, ids), rc) };
}
