import { sql } from 'drizzle-orm';
import { campaigns, type CampaignRow } from '../../db/schema.js';
import { decodeRow, parseJson, type JsonRow } from '../../db/row-json.js';
import { refuse, type OneWrite } from '../../write.js';
import { rowJson } from '../../write-statement.js';
import { campaignCache } from './cache.js';

/** One statement: the campaign in its hospital's region, inserted only when the hospital exists. */
export function createCampaign(input: { hospitalId: number; title: string; startsAt: Date; endsAt: Date; goalUnits: number }): OneWrite<CampaignRow> {
  return {
    with: sql`h AS (SELECT * FROM hospitals WHERE id = ${input.hospitalId}),
      ins AS (INSERT INTO campaigns (hospital_id, title, starts_at, ends_at, goal_units, region)
        SELECT h.id, ${input.title}::text, ${input.startsAt.toISOString()}::timestamptz, ${input.endsAt.toISOString()}::timestamptz, ${input.goalUnits}::int, h.region
        FROM h RETURNING *)`,
    changes: [{ entity: campaignCache, from: sql`ins`, before: null, after: rowJson(campaignCache, 'ins') }],
    select: sql`(SELECT to_jsonb(ins) FROM ins) AS value`,
    decide: ({ row }) =>
      row.value == null
        ? refuse('not-found', `Hospital ${input.hospitalId} does not exist.`)
        : { ok: true, value: decodeRow(campaigns, parseJson<JsonRow>(row.value)), events: [] },
  };
}
