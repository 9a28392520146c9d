import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import { donorsByIds } from './repository.js';

export function createDonorLoaders(db: Executor) {
  return { donor: byIdLoader((ids) => donorsByIds(db, ids)) };
}
