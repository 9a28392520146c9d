import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { hospitalCache } from './cache.js';
import { hospitalsByIds } from './repository.js';

export function createHospitalLoaders(db: Executor, rc: RequestCache | null) {
  return { hospital: byIdLoader(hospitalCache, (ids) => hospitalsByIds(db, ids), rc) };
}
