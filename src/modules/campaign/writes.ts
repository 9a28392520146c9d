import { eq } from 'drizzle-orm';
import { campaigns, hospitals, type CampaignRow } from '../../db/schema.js';
import { refuse, type WriteOutcome, type WriteTx } from '../../write.js';
import { campaignCache } from './cache.js';

export async function createCampaign(
  tx: WriteTx,
  input: { hospitalId: number; title: string; startsAt: Date; endsAt: Date; goalUnits: number },
): Promise<WriteOutcome<CampaignRow>> {
  const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, input.hospitalId));
  if (!hospital) return refuse('not-found', `Hospital ${input.hospitalId} does not exist.`);
  const [row] = await tx
    .insert(campaigns)
    .values({ ...input, region: hospital.region })
    .returning();
  return { ok: true, value: row!, effects: { tags: campaignCache.tagsOf(row!), events: [] } };
}
