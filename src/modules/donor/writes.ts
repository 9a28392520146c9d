import { getTableColumns, sql } from 'drizzle-orm';
import { donors, type DonorRow } from '../../db/schema.js';
import { decodeRow, parseJson, type JsonRow } from '../../db/row-json.js';
import { refuse, type OneWrite } from '../../write.js';
import { rowJson } from '../../write-statement.js';
import { donorCache } from './cache.js';

export interface DonorChanges {
  name?: string;
  region?: string;
  city?: string;
  phone?: string | null;
}

/** One statement: lock the donor (its lists are those of the version replaced), update it, record the change. */
export function updateDonor(id: number, changes: DonorChanges): OneWrite<DonorRow> {
  const columns = getTableColumns(donors);
  const set = sql.join(
    Object.entries(changes).map(([key, value]) => sql`${sql.identifier(columns[key as keyof DonorChanges].name)} = ${value}`),
    sql`, `,
  );
  return {
    with: sql`old AS (SELECT * FROM donors WHERE id = ${id} FOR UPDATE),
      upd AS (UPDATE donors d SET ${set} FROM old WHERE d.id = old.id RETURNING d.*)`,
    changes: [{ entity: donorCache, from: sql`old JOIN upd ON upd.id = old.id`, before: rowJson(donorCache, 'old'), after: rowJson(donorCache, 'upd') }],
    // The whole row (contact fields included) for the answer; the change holds the cached profile only.
    select: sql`(SELECT to_jsonb(upd) FROM upd) AS value`,
    decide: ({ row }) =>
      row.value == null
        ? refuse('not-found', `Donor ${id} does not exist.`, { type: 'Donor', id: String(id) })
        : { ok: true, value: decodeRow(donors, parseJson<JsonRow>(row.value)), events: [] },
  };
}
