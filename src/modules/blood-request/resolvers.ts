import { checkPageSize, decodeCursor, encodeCursor, toConnection } from '../../graphql/connection.js';
import type { Resolvers } from '../../graphql/generated/resolvers-types.js';
import { requireRole } from '../../graphql/guards.js';
import { parseId } from '../../graphql/ids.js';
import { intRange } from '../../graphql/validate.js';
import { bloodRequestCount, bloodRequestPage } from './repository.js';
import { readCount, readList } from '../../graphql/request-cache.js';
import { bloodRequestsList } from './cache.js';
import { cancelBloodRequest, createBloodRequest, fulfillBloodRequest } from './writes.js';

export const MAX_UNITS_PER_REQUEST = 1000;

export const bloodRequestResolvers: Resolvers = {
  Query: {
    bloodRequests: async (_p, { status, urgency, region, first, after }, { services, loaders, cache }) => {
      const limit = checkPageSize(first);
      const afterId = decodeCursor('BloodRequest', after);
      const filter = { status, urgency, region };
      const db = services.database.db;
      const fetched =
        limit === 0 ? [] : await readList(cache, bloodRequestsList, { ...filter, limit, after: afterId }, () => bloodRequestPage(db, filter, limit + 1, afterId));
      for (const r of fetched) loaders.bloodRequest.prime(r.id, r);
      const totalCount = () => readCount(cache, bloodRequestsList, filter, () => bloodRequestCount(db, filter));
      return toConnection(fetched, limit, (r) => encodeCursor('BloodRequest', r.id), totalCount, afterId !== null);
    },
  },
  Mutation: {
    createBloodRequest: async (_p, { input }, { viewer, services }) => {
      requireRole(viewer, 'STAFF', 'ADMIN');
      const values = {
        hospitalId: parseId('Hospital', input.hospitalId, 'input.hospitalId'),
        bloodGroup: input.bloodGroup,
        unitsNeeded: intRange('input.unitsNeeded', input.unitsNeeded, 1, MAX_UNITS_PER_REQUEST),
        urgency: input.urgency,
      };
      return services.write.one(createBloodRequest(values), { field: 'input.hospitalId' });
    },
    fulfillBloodRequest: async (_p, { id, units }, { viewer, services }) => {
      requireRole(viewer, 'STAFF', 'ADMIN');
      const requestId = parseId('BloodRequest', id);
      const count = intRange('units', units, 1, MAX_UNITS_PER_REQUEST);
      return services.write.one(fulfillBloodRequest(requestId, count), { field: 'units' });
    },
    cancelBloodRequest: async (_p, { id }, { viewer, services }) => {
      requireRole(viewer, 'STAFF', 'ADMIN');
      const requestId = parseId('BloodRequest', id);
      return services.write.one(cancelBloodRequest(requestId), { field: 'id' });
    },
  },
  Hospital: {
    requests: (h, { status }, { loaders }) => loaders.requestsByHospital.load({ hospital: h.id, status: status ?? null }),
  },
  BloodRequest: {
    hospital: async (r, _a, { loaders }) => (await loaders.hospital.load(r.hospitalId))!,
  },
};
