import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { campaigns, hospitals, type CampaignRow } from '../../db/schema.js';
import type { WriteOutcome } from '../blood-request/writes.js';
import { campaignCache } from './cache.js';

export async function createCampaign(
  db: Db,
  input: { hospitalId: number; title: string; startsAt: Date; endsAt: Date; goalUnits: number },
): Promise<WriteOutcome<CampaignRow>> {
  return db.transaction(async (tx) => {
    const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, input.hospitalId));
    if (!hospital) return { ok: false, reason: 'not-found', message: `Hospital ${input.hospitalId} does not exist.` };
    const [row] = await tx
      .insert(campaigns)
      .values({ ...input, region: hospital.region })
      .returning();
    return { ok: true, value: row!, effects: { tags: campaignCache.tagsOf(row!), events: [] } };
  });
}
