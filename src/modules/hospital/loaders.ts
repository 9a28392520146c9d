import DataLoader from 'dataloader';
import type { Executor } from '../../db/client.js';
import type { BloodRequestRow, InventoryRow, RequestStatus } from '../../db/schema.js';
import { byIdLoader, groupByKey } from '../../graphql/loader-utils.js';
import { readThroughMany, type RequestCache } from '../../graphql/request-cache.js';
import { entityTag, hospitalInventoryTag, hospitalRequestsTag, inventoryItemTag, listKey } from '../cache-keys.js';
import { hospitalsByIds, inventoryByHospitals, requestsByHospitals } from './repository.js';

export interface HospitalRequestsKey {
  hospitalId: number;
  status: RequestStatus | null;
}

export function createHospitalLoaders(db: Executor, rc: RequestCache | null) {
  const inventoryKey = (id: number) => listKey('Inventory:hospital', { hospital: id });
  const requestsKey = (k: HospitalRequestsKey) => listKey('BloodRequest:hospital', { hospital: k.hospitalId, status: k.status });
  return {
    hospital: byIdLoader('Hospital', (ids) => hospitalsByIds(db, ids), rc),
    inventoryByHospital: new DataLoader<number, InventoryRow[]>(async (ids) => {
      const unique = [...new Set(ids)];
      const lists = await readThroughMany<InventoryRow[]>(
        rc,
        'InventoryItem',
        unique.map(inventoryKey),
        async (missing) => {
          const wanted = unique.filter((id) => missing.includes(inventoryKey(id)));
          const grouped = groupByKey(wanted, await inventoryByHospitals(db, wanted), (r) => r.hospitalId);
          return new Map(wanted.map((id, i) => [inventoryKey(id), grouped[i]!]));
        },
        (key, rows) => [hospitalInventoryTag(unique.find((id) => inventoryKey(id) === key)!), ...rows.map((r) => inventoryItemTag(r.hospitalId, r.bloodGroup))],
      );
      return ids.map((id) => lists.get(inventoryKey(id)) ?? []);
    }),
    // Keys sharing a status (every hospital under one field) load in one statement.
    requestsByHospital: new DataLoader<HospitalRequestsKey, BloodRequestRow[], string>(
      async (keys) => {
        const byKey = new Map(keys.map((k) => [requestsKey(k), k]));
        const lists = await readThroughMany<BloodRequestRow[]>(
          rc,
          'BloodRequest',
          [...byKey.keys()],
          async (missing) => {
            const out = new Map<string, BloodRequestRow[]>();
            const statuses = [...new Set(missing.map((m) => byKey.get(m)!.status))];
            await Promise.all(
              statuses.map(async (status) => {
                const group = missing.map((m) => byKey.get(m)!).filter((k) => k.status === status);
                const ids = [...new Set(group.map((k) => k.hospitalId))];
                const rows = await requestsByHospitals(db, ids, status);
                for (const k of group) out.set(requestsKey(k), rows.filter((r) => r.hospitalId === k.hospitalId));
              }),
            );
            return out;
          },
          (key, rows) => [hospitalRequestsTag(byKey.get(key)!.hospitalId), ...rows.map((r) => entityTag('BloodRequest', r.id))],
        );
        return keys.map((k) => lists.get(requestsKey(k)) ?? []);
      },
      { cacheKeyFn: requestsKey },
    ),
  };
}
