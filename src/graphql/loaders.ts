import type { Executor } from '../db/client.js';
import { createBloodRequestLoaders } from '../modules/blood-request/loaders.js';
import { createCampaignLoaders } from '../modules/campaign/loaders.js';
import { createDonationLoaders } from '../modules/donation/loaders.js';
import { createDonorLoaders } from '../modules/donor/loaders.js';
import { createHospitalLoaders } from '../modules/hospital/loaders.js';

export function createLoaders(db: Executor) {
  return {
    ...createDonorLoaders(db),
    ...createHospitalLoaders(db),
    ...createBloodRequestLoaders(db),
    ...createCampaignLoaders(db),
    ...createDonationLoaders(db),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
