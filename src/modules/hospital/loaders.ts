import DataLoader from 'dataloader';
import type { Executor } from '../../db/client.js';
import type { BloodRequestRow, RequestStatus } from '../../db/schema.js';
import { byIdLoader, groupByKey } from '../../graphql/loader-utils.js';
import { hospitalsByIds, inventoryByHospitals, requestsByHospitals } from './repository.js';

export interface HospitalRequestsKey {
  hospitalId: number;
  status: RequestStatus | null;
}

export function createHospitalLoaders(db: Executor) {
  return {
    hospital: byIdLoader((ids) => hospitalsByIds(db, ids)),
    inventoryByHospital: new DataLoader(async (ids: readonly number[]) =>
      groupByKey(ids, await inventoryByHospitals(db, [...new Set(ids)]), (r) => r.hospitalId),
    ),
    // Keys sharing a status (every hospital under one field) load in one statement.
    requestsByHospital: new DataLoader<HospitalRequestsKey, BloodRequestRow[], string>(
      async (keys) => {
        const statuses = [...new Set(keys.map((k) => k.status))];
        const byStatus = new Map<RequestStatus | null, BloodRequestRow[]>();
        await Promise.all(
          statuses.map(async (status) => {
            const ids = [...new Set(keys.filter((k) => k.status === status).map((k) => k.hospitalId))];
            byStatus.set(status, await requestsByHospitals(db, ids, status));
          }),
        );
        return keys.map((k) => (byStatus.get(k.status) ?? []).filter((r) => r.hospitalId === k.hospitalId));
      },
      { cacheKeyFn: (k) => `${k.hospitalId}:${k.status}` },
    ),
  };
}
