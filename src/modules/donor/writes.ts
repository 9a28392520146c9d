import { eq } from 'drizzle-orm';
import type { WriteEffects } from '../../after-commit.js';
import type { Db } from '../../db/client.js';
import { donors, type DonorRow } from '../../db/schema.js';

export interface DonorChanges {
  name?: string;
  region?: string;
  city?: string;
  phone?: string | null;
}

/** Tags a donor change touches: the entity, and the filtered lists it was and is in. */
export function donorTags(before: Pick<DonorRow, 'id' | 'bloodGroup' | 'region'>, after?: Pick<DonorRow, 'region'>): string[] {
  const regions = new Set([before.region, after?.region ?? before.region]);
  return [
    `Donor:${before.id}`,
    'Donor:list',
    ...[...regions].flatMap((r) => [`Donor:list:region=${r}`, `Donor:list:bloodGroup=${before.bloodGroup}:region=${r}`]),
    `Donor:list:bloodGroup=${before.bloodGroup}`,
  ];
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
    return { donor: donor!, effects: { tags: donorTags(before, donor), events: [] } };
  });
}
