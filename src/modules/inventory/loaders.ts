import type { Executor } from '../../db/client.js';
import { listLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { inventoryByHospitalList } from './cache.js';
import { inventoryByHospitals } from './repository.js';

export function createInventoryLoaders(db: Executor, rc: RequestCache | null) {
  return {
    /** Hospital.inventory: every hospital under one field in one statement. */
    inventoryByHospital: listLoader<never, Awaited<ReturnType<typeof inventoryByHospitals>>[number], { hospital: number }>(
      inventoryByHospitalList,
      'hospital',
      (ids) => inventoryByHospitals(db, ids),
      (r) => r.hospitalId,
      rc,
    ),
  };
}
