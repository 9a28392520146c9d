import { eq } from 'drizzle-orm';
import { donors, type DonorRow } from '../../db/schema.js';
import { refuse, type WriteOutcome, type WriteTx } from '../../write.js';
import { donorCache } from './cache.js';

export interface DonorChanges {
  name?: string;
  region?: string;
  city?: string;
  phone?: string | null;
}

export async function updateDonor(tx: WriteTx, id: number, changes: DonorChanges): Promise<WriteOutcome<DonorRow>> {
  const [before] = await tx.select().from(donors).where(eq(donors.id, id)).for('update');
  if (!before) return refuse('not-found', `Donor ${id} does not exist.`, { type: 'Donor', id: String(id) });
  const [donor] = await tx.update(donors).set(changes).where(eq(donors.id, id)).returning();
  return { ok: true, value: donor!, effects: { tags: donorCache.tagsOf(donor!, before), events: [] } };
}
