import { and, asc, eq, gt, inArray, lte } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { campaigns, type CampaignRow } from '../../db/schema.js';

export function campaignsByIds(db: Executor, ids: number[]): Promise<CampaignRow[]> {
  return db.select().from(campaigns).where(inArray(campaigns.id, ids));
}

/** By start date; activeOnly keeps campaigns running at `now` (startsAt <= now < endsAt). */
export function campaignList(db: Executor, activeOnly: boolean, region: string | null | undefined, now: Date): Promise<CampaignRow[]> {
  return db
    .select()
    .from(campaigns)
    .where(
      and(
        activeOnly ? and(lte(campaigns.startsAt, now), gt(campaigns.endsAt, now)) : undefined,
        region ? eq(campaigns.region, region) : undefined,
      ),
    )
    .orderBy(asc(campaigns.startsAt), asc(campaigns.id));
}
