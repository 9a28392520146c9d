import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import { campaignsByIds } from './repository.js';

export function createCampaignLoaders(db: Executor) {
  return { campaign: byIdLoader((ids) => campaignsByIds(db, ids)) };
}
