import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { donorsByIds } from './repository.js';

export function createDonorLoaders(db: Executor, rc: RequestCache | null) {
  return { donor: byIdLoader('Donor', (ids) => donorsByIds(db, ids), rc) };
}
