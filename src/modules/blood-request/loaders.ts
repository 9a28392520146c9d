import type { Executor } from '../../db/client.js';
import type { BloodRequestRow, RequestStatus } from '../../db/schema.js';
import { byIdLoader, listLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import { bloodRequestCache, requestsByHospitalList } from './cache.js';
import { bloodRequestsByIds, requestsByHospitals } from './repository.js';

export interface HospitalRequestsKey {
  [param: string]: number | RequestStatus | null;
  hospital: number;
  status: RequestStatus | null;
}

export function createBloodRequestLoaders(db: Executor, rc: RequestCache | null) {
  return {
    bloodRequest: byIdLoader(bloodRequestCache, (ids) => bloodRequestsByIds(db, ids), rc),
    // Hospital.requests(status): keys sharing a status (every hospital under one field) load in one statement.
    requestsByHospital: listLoader<never, BloodRequestRow, HospitalRequestsKey>(
      requestsByHospitalList,
      'hospital',
      (ids, { status }) => requestsByHospitals(db, ids, status),
      (r) => r.hospitalId,
      rc,
    ),
  };
}
