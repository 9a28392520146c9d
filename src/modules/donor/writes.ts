import { eq } from 'drizzle-orm';
import type { WriteEffects } from '../../after-commit.js';
import type { Db } from '../../db/client.js';
import { donors, type DonorRow } from '../../db/schema.js';
import { donorCache } from './cache.js';

export interface DonorChanges {
  name?: string;
  region?: string;
  city?: string;
  phone?: string | null;
}

export async function updateDonor(
  db: Db,
  id: number,
  changes: DonorChanges,
): Promise<{ donor: DonorRow; effects: WriteEffects } | null> {
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(donors).where(eq(donors.id, id)).for('update');
    if (!before) return null;
    const [donor] = await tx.update(donors).set(changes).where(eq(donors.id, id)).returning();
    return { donor: donor!, effects: { tags: donorCache.tagsOf(donor!, before), events: [] } };
  });
}
