import type { Executor } from '../db/client.js';
import { createBloodRequestLoaders } from '../modules/blood-request/loaders.js';
import { createCampaignLoaders } from '../modules/campaign/loaders.js';
import { createDonationLoaders } from '../modules/donation/loaders.js';
import { createDonorLoaders } from '../modules/donor/loaders.js';
import { createHospitalLoaders } from '../modules/hospital/loaders.js';
import type { RequestCache } from './request-cache.js';

/** Fresh per operation: DataLoader memoises for the life of one request only. */
export function createLoaders(db: Executor, rc: RequestCache | null) {
  return {
    ...createDonorLoaders(db, rc),
    ...createHospitalLoaders(db, rc),
    ...createBloodRequestLoaders(db, rc),
    ...createCampaignLoaders(db, rc),
    ...createDonationLoaders(db, rc),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
