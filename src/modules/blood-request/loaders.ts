import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import { bloodRequestsByIds } from './repository.js';

export function createBloodRequestLoaders(db: Executor) {
  return { bloodRequest: byIdLoader((ids) => bloodRequestsByIds(db, ids)) };
}
