import { sql } from 'drizzle-orm';
import { donors, users, type BloodGroup, type DonorRow, type UserRow } from '../../db/schema.js';
import { decodeRow, parseJson, type JsonRow } from '../../db/row-json.js';
import { refuse, type OneWrite } from '../../write.js';
import { rowJson } from '../../write-statement.js';
import { donorCache } from '../donor/cache.js';

export interface RegisterValues {
  email: string;
  passwordHash: string;
  name: string;
  bloodGroup: BloodGroup;
  region: string;
  city: string;
  phone: string | null;
}

const taken = refuse('already-exists', 'An account with this email already exists.');

/**
 * One statement: the donor profile and its DONOR account together, refused when the email is
 * taken. Two registrations of one email racing both pass the check; the unique index then fails
 * the later statement whole (no donor row either), which is answered as the same refusal.
 */
export function registerDonor(v: RegisterValues): OneWrite<{ user: UserRow; donor: DonorRow }> {
  return {
    with: sql`d AS (INSERT INTO donors (name, blood_group, region, city, email, phone)
        SELECT ${v.name}, ${v.bloodGroup}::blood_group, ${v.region}, ${v.city}, ${v.email}, ${v.phone}
        WHERE NOT EXISTS (SELECT 1 FROM users WHERE email = ${v.email}) RETURNING *),
      u AS (INSERT INTO users (email, password_hash, role, donor_id) SELECT ${v.email}, ${v.passwordHash}, 'DONOR', d.id FROM d RETURNING *)`,
    changes: [{ entity: donorCache, from: sql`d`, before: null, after: rowJson(donorCache, 'd') }],
    select: sql`(SELECT to_jsonb(u) FROM u) AS account, (SELECT to_jsonb(d) FROM d) AS donor`,
    uniqueViolation: taken,
    decide: ({ row }) =>
      row.account == null || row.donor == null
        ? taken
        : {
            ok: true,
            value: { user: decodeRow(users, parseJson<JsonRow>(row.account)), donor: decodeRow(donors, parseJson<JsonRow>(row.donor)) },
            events: [{ topic: 'dashboardStatsUpdated' }],
          },
  };
}
