import { sql } from 'drizzle-orm';
import { campaigns, donations, donors, hospitals, inventory, type DonationRow } from '../../db/schema.js';
import { decodeRow, parseJson, type JsonRow } from '../../db/row-json.js';
import { refuse, retry, type OneWrite } from '../../write.js';
import { rowJson } from '../../write-statement.js';
import { DONATION_INTERVAL_DAYS, nextEligibleAt, pointsFor } from '../donor/eligibility.js';
import { campaignCache } from '../campaign/cache.js';
import { donorCache } from '../donor/cache.js';
import { inventoryItemCache } from '../inventory/cache.js';
import { donationCache } from './cache.js';

export interface RecordDonationInput {
  donorId: number;
  hospitalId: number;
  campaignId: number | null;
  units: number;
}

const json = (value: unknown) => parseJson<JsonRow>(value);

/**
 * One statement: the donation row, the hospital's stock, the donor's lastDonationAt and points,
 * the campaign's collectedUnits. The donor, the campaign and the stock row are locked first (in
 * that order), every rule is checked on the locked versions, and only when all hold is anything
 * written; otherwise nothing is.
 *
 * The eligibility rule is checked on the locked donor, so two concurrent donations by one donor
 * cannot both pass: the second waits on the row lock and then finds lastDonationAt already set to
 * now. A stock row that does not exist yet is inserted; should another write insert it meanwhile,
 * the unique index fails this statement whole, and it is sent again (then finding the row to lock).
 */
export function recordDonation(input: RecordDonationInput, now: Date): OneWrite<DonationRow> {
  const cutoff = new Date(now.getTime() - DONATION_INTERVAL_DAYS * 86_400_000);
  const { donorId, hospitalId, campaignId, units } = input;
  // As text: a raw statement's parameters carry no type the driver could serialize a Date by.
  const [at, since] = [now.toISOString(), cutoff.toISOString()];
  const region = { region: sql`h.region` };
  const campaign = campaignId !== null;
  return {
    with: sql`h AS (SELECT * FROM hospitals WHERE id = ${hospitalId}::int),
      dold AS (SELECT * FROM donors WHERE id = ${donorId}::int FOR UPDATE),
      eligible AS (SELECT dold.* FROM dold, h WHERE dold.last_donation_at IS NULL OR dold.last_donation_at <= ${since}::timestamptz),
      ${
        campaign
          ? sql`cold AS (SELECT * FROM campaigns WHERE id = ${campaignId}::int FOR UPDATE),
      cok AS (SELECT cold.* FROM cold WHERE cold.hospital_id = ${hospitalId}::int AND cold.starts_at <= ${at}::timestamptz AND cold.ends_at > ${at}::timestamptz),
      go AS (SELECT eligible.id AS donor_id, eligible.blood_group FROM eligible, cok),
      cupd AS (UPDATE campaigns c SET collected_units = c.collected_units + ${units}::int FROM cok, go WHERE c.id = cok.id RETURNING c.*),`
          : sql`go AS (SELECT eligible.id AS donor_id, eligible.blood_group FROM eligible),`
      }
      dupd AS (UPDATE donors d SET last_donation_at = ${at}::timestamptz, points = d.points + ${pointsFor(units)}::int FROM go WHERE d.id = go.donor_id RETURNING d.*),
      don AS (INSERT INTO donations (donor_id, hospital_id, campaign_id, units, blood_group, donated_at)
        SELECT ${donorId}::int, ${hospitalId}::int, ${campaignId}::int, ${units}::int, go.blood_group, ${at}::timestamptz FROM go RETURNING *),
      iold AS (SELECT i.* FROM inventory i JOIN go ON i.blood_group = go.blood_group WHERE i.hospital_id = ${hospitalId}::int FOR UPDATE OF i),
      iupd AS (UPDATE inventory i SET units = i.units + ${units}::int, updated_at = now() FROM iold
        WHERE i.hospital_id = iold.hospital_id AND i.blood_group = iold.blood_group RETURNING i.*),
      iins AS (INSERT INTO inventory (hospital_id, blood_group, units)
        SELECT ${hospitalId}::int, go.blood_group, ${units}::int FROM go WHERE NOT EXISTS (SELECT 1 FROM iold) RETURNING *)`,
    changes: [
      { entity: donorCache, from: sql`dold JOIN dupd ON dupd.id = dold.id`, before: rowJson(donorCache, 'dold'), after: rowJson(donorCache, 'dupd') },
      ...(campaign ? [{ entity: campaignCache, from: sql`cold JOIN cupd ON cupd.id = cold.id`, before: rowJson(campaignCache, 'cold'), after: rowJson(campaignCache, 'cupd') }] : []),
      { entity: donationCache, from: sql`don`, before: null, after: rowJson(donationCache, 'don') },
      { entity: inventoryItemCache, from: sql`iold JOIN iupd USING (hospital_id, blood_group) CROSS JOIN h`, before: rowJson(inventoryItemCache, 'iold', region), after: rowJson(inventoryItemCache, 'iupd', region) },
      { entity: inventoryItemCache, from: sql`iins CROSS JOIN h`, before: null, after: rowJson(inventoryItemCache, 'iins', region) },
    ],
    select: sql`(SELECT to_jsonb(h) FROM h) AS hospital, (SELECT to_jsonb(dold) FROM dold) AS donor_old, (SELECT to_jsonb(dupd) FROM dupd) AS donor,
      ${campaign ? sql`(SELECT to_jsonb(cold) FROM cold)` : sql`NULL::jsonb`} AS campaign_old,
      (SELECT to_jsonb(don) FROM don) AS donation,
      (SELECT to_jsonb(x) FROM (SELECT * FROM iupd UNION ALL SELECT * FROM iins) x) AS item`,
    // A concurrent insert of the same new stock row: nothing of this statement was written.
    uniqueViolation: retry,
    decide({ row, commitOrder }) {
      if (row.hospital == null) return refuse('not-found', `Hospital ${hospitalId} does not exist.`);
      if (row.donor_old == null) return refuse('not-found', `Donor ${donorId} does not exist.`);
      if (row.donation == null) {
        const existing = decodeRow(donors, json(row.donor_old));
        if (existing.lastDonationAt && existing.lastDonationAt > cutoff) {
          return refuse(
            'not-eligible',
            `Donor ${donorId} is not eligible until ${nextEligibleAt(existing.lastDonationAt)!.toISOString()} (${DONATION_INTERVAL_DAYS} days between donations).`,
          );
        }
        if (campaign) {
          if (row.campaign_old == null) return refuse('not-found', `Campaign ${campaignId} does not exist.`);
          const current = decodeRow(campaigns, json(row.campaign_old));
          if (current.hospitalId !== hospitalId) return refuse('wrong-campaign', `Campaign ${campaignId} is run by hospital ${current.hospitalId}, not ${hospitalId}.`);
          return refuse('campaign-inactive', `Campaign ${campaignId} is not running now.`);
        }
        return retry;
      }
      const donation = decodeRow(donations, json(row.donation));
      const donor = decodeRow(donors, json(row.donor));
      const hospital = decodeRow(hospitals, json(row.hospital));
      const item = decodeRow(inventory, json(row.item));
      return {
        ok: true,
        value: donation,
        events: [
          { topic: 'donationRecorded', donation, donor, hospital },
          { topic: 'inventoryChanged', item, hospital, version: commitOrder },
          { topic: 'dashboardStatsUpdated' },
        ],
      };
    },
  };
}
