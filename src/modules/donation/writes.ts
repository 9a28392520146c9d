import { and, eq, gt, isNull, lte, or, sql } from 'drizzle-orm';
import { commitOrder } from '../../after-commit.js';
import { campaigns, donations, donors, hospitals, type CampaignRow, type DonationRow } from '../../db/schema.js';
import { anyChange } from '../../cache/declare.js';
import { refuse, type WriteOutcome, type WriteTx } from '../../write.js';
import { DONATION_INTERVAL_DAYS, nextEligibleAt, pointsFor } from '../donor/eligibility.js';
import { campaignCache } from '../campaign/cache.js';
import { donorCache, profileOf } from '../donor/cache.js';
import { inventoryItemCache } from '../inventory/cache.js';
import { donationCache } from './cache.js';
import { changeStock } from '../inventory/writes.js';

export interface RecordDonationInput {
  donorId: number;
  hospitalId: number;
  campaignId: number | null;
  units: number;
}

/**
 * One transaction: the donation row, the hospital's stock, the donor's
 * lastDonationAt and points, the campaign's collectedUnits. Any refusal rolls
 * the transaction back (write()), so nothing is written.
 */
export async function recordDonation(tx: WriteTx, input: RecordDonationInput, now: Date): Promise<WriteOutcome<DonationRow>> {
  const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, input.hospitalId));
  if (!hospital) return refuse('not-found', `Hospital ${input.hospitalId} does not exist.`);

  // The eligibility rule is the update's condition, so two concurrent donations
  // by one donor cannot both pass: the second waits on the row lock and then
  // finds lastDonationAt already set to now.
  const cutoff = new Date(now.getTime() - DONATION_INTERVAL_DAYS * 86_400_000);
  const [donor] = await tx
    .update(donors)
    .set({ lastDonationAt: now, points: sql`${donors.points} + ${pointsFor(input.units)}` })
    .where(and(eq(donors.id, input.donorId), or(isNull(donors.lastDonationAt), lte(donors.lastDonationAt, cutoff))))
    .returning();
  if (!donor) {
    const [existing] = await tx.select().from(donors).where(eq(donors.id, input.donorId));
    if (!existing) return refuse('not-found', `Donor ${input.donorId} does not exist.`);
    return refuse(
      'not-eligible',
      `Donor ${input.donorId} is not eligible until ${nextEligibleAt(existing.lastDonationAt)!.toISOString()} (${DONATION_INTERVAL_DAYS} days between donations).`,
    );
  }

  // The donor's points and last donation changed (not which lists it is in); stock moved.
  const tags = [donorCache.tag(donor)];
  let updatedCampaign: CampaignRow | null = null;
  if (input.campaignId !== null) {
    const [campaign] = await tx
      .update(campaigns)
      .set({ collectedUnits: sql`${campaigns.collectedUnits} + ${input.units}` })
      .where(
        and(
          eq(campaigns.id, input.campaignId),
          eq(campaigns.hospitalId, hospital.id),
          lte(campaigns.startsAt, now),
          gt(campaigns.endsAt, now),
        ),
      )
      .returning();
    if (!campaign) {
      const [existing] = await tx.select().from(campaigns).where(eq(campaigns.id, input.campaignId));
      if (!existing) return refuse('not-found', `Campaign ${input.campaignId} does not exist.`);
      if (existing.hospitalId !== hospital.id)
        return refuse('wrong-campaign', `Campaign ${input.campaignId} is run by hospital ${existing.hospitalId}, not ${hospital.id}.`);
      return refuse('campaign-inactive', `Campaign ${input.campaignId} is not running now.`);
    }
    tags.push(campaignCache.tag(campaign));
    updatedCampaign = campaign;
  }

  const [donation] = await tx
    .insert(donations)
    .values({ ...input, bloodGroup: donor.bloodGroup, donatedAt: now })
    .returning();
  const stock = await changeStock(tx, hospital.id, donor.bloodGroup, input.units);
  // Stock moved (a positive change always returns the row: an upsert); its lists too, as far as
  // known without the row before (a new item may have entered them).
  tags.push(...inventoryItemCache.tagsOf({ ...stock!, region: hospital.region }), ...donationCache.tagsOf(donation!));

  return {
    ok: true,
    value: donation!,
    effects: {
      tags,
      // Rows this transaction changed without reading them first have no `before`.
      changes: [
        anyChange({ entity: donorCache, after: profileOf(donor) }),
        ...(updatedCampaign ? [anyChange({ entity: campaignCache, after: updatedCampaign })] : []),
        anyChange({ entity: donationCache, before: null, after: donation! }),
        anyChange({ entity: inventoryItemCache, after: { ...stock!, region: hospital.region } }),
      ],
      events: [
        { topic: 'donationRecorded', donation: donation!, donor, hospital },
        // A positive change always returns the row (an upsert).
        { topic: 'inventoryChanged', item: stock!, hospital, version: await commitOrder(tx) },
        { topic: 'dashboardStatsUpdated' },
      ],
    },
  };
}
