import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { bloodRequestsByIds } from './repository.js';

export function createBloodRequestLoaders(db: Executor, rc: RequestCache | null) {
  return { bloodRequest: byIdLoader('BloodRequest', (ids) => bloodRequestsByIds(db, ids), rc) };
}
