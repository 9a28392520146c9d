import type { Executor } from '../../db/client.js';
import { byIdLoader } from '../../graphql/loader-utils.js';
import type { RequestCache } from '../../graphql/request-cache.js';
import DataLoader from 'dataloader';
import { donorCache } from './cache.js';
import { donorContacts, donorsByIds } from './repository.js';

export function createDonorLoaders(db: Executor, rc: RequestCache | null) {
  return {
    donor: byIdLoader(donorCache, (ids) => donorsByIds(db, ids), rc),
    // Straight from the database, batched: contact details never enter a shared cache entry.
    donorContact: new DataLoader(async (ids: readonly number[]) => {
      const rows = await donorContacts(db, [...new Set(ids)]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? { id, email: null, phone: null });
    }),
  };
}
