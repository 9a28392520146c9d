// Drizzle table definitions: the single source of the database layout.
// `npm run db:generate` turns changes here into SQL migrations under drizzle/.
import { sql } from 'drizzle-orm';
import {
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const bloodGroupEnum = pgEnum('blood_group', [
  'A_POS',
  'A_NEG',
  'B_POS',
  'B_NEG',
  'AB_POS',
  'AB_NEG',
  'O_POS',
  'O_NEG',
]);
export const urgencyEnum = pgEnum('urgency', ['ROUTINE', 'URGENT', 'EMERGENCY']);
export const requestStatusEnum = pgEnum('request_status', ['OPEN', 'FULFILLED', 'CANCELLED']);
export const roleEnum = pgEnum('role', ['DONOR', 'STAFF', 'ADMIN']);

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const donors = pgTable(
  'donors',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    bloodGroup: bloodGroupEnum('blood_group').notNull(),
    region: text('region').notNull(),
    city: text('city').notNull(),
    email: text('email'),
    phone: text('phone'),
    lastDonationAt: timestamp('last_donation_at', { withTimezone: true, mode: 'date' }),
    points: integer('points').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    // donors(bloodGroup, region) pages by id within the filter.
    index('donors_blood_group_region_id_idx').on(t.bloodGroup, t.region, t.id),
    index('donors_region_id_idx').on(t.region, t.id),
    check('donors_points_nonnegative', sql`${t.points} >= 0`),
  ],
);

export const users = pgTable(
  'users',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    // Stored lower-cased; the unique index makes registration race-free.
    email: text('email').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: roleEnum('role').notNull().default('DONOR'),
    donorId: integer('donor_id').references(() => donors.id),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_idx').on(t.email), uniqueIndex('users_donor_id_idx').on(t.donorId)],
);

export const hospitals = pgTable(
  'hospitals',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    name: text('name').notNull(),
    region: text('region').notNull(),
    city: text('city').notNull(),
  },
  (t) => [index('hospitals_region_name_idx').on(t.region, t.name), index('hospitals_name_idx').on(t.name)],
);

export const inventory = pgTable(
  'inventory',
  {
    hospitalId: integer('hospital_id')
      .notNull()
      .references(() => hospitals.id),
    bloodGroup: bloodGroupEnum('blood_group').notNull(),
    units: integer('units').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.hospitalId, t.bloodGroup] }),
    // availability(bloodGroup) scans one group, most units first.
    index('inventory_blood_group_units_idx').on(t.bloodGroup, t.units),
    // The allocation rule, enforced by the database as well as by the conditional update.
    check('inventory_units_nonnegative', sql`${t.units} >= 0`),
  ],
);

export const bloodRequests = pgTable(
  'blood_requests',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    hospitalId: integer('hospital_id')
      .notNull()
      .references(() => hospitals.id),
    bloodGroup: bloodGroupEnum('blood_group').notNull(),
    unitsNeeded: integer('units_needed').notNull(),
    unitsFulfilled: integer('units_fulfilled').notNull().default(0),
    urgency: urgencyEnum('urgency').notNull(),
    status: requestStatusEnum('status').notNull().default('OPEN'),
    createdAt: createdAt(),
  },
  (t) => [
    index('blood_requests_status_urgency_idx').on(t.status, t.urgency, t.id),
    index('blood_requests_hospital_idx').on(t.hospitalId, t.id),
    check('blood_requests_units_needed_positive', sql`${t.unitsNeeded} > 0`),
    check(
      'blood_requests_units_fulfilled_range',
      sql`${t.unitsFulfilled} >= 0 AND ${t.unitsFulfilled} <= ${t.unitsNeeded}`,
    ),
  ],
);

export const campaigns = pgTable(
  'campaigns',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    title: text('title').notNull(),
    region: text('region').notNull(),
    hospitalId: integer('hospital_id')
      .notNull()
      .references(() => hospitals.id),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date' }).notNull(),
    goalUnits: integer('goal_units').notNull(),
    collectedUnits: integer('collected_units').notNull().default(0),
  },
  (t) => [
    index('campaigns_region_starts_idx').on(t.region, t.startsAt),
    index('campaigns_ends_at_idx').on(t.endsAt),
    check('campaigns_goal_positive', sql`${t.goalUnits} > 0`),
    check('campaigns_dates_ordered', sql`${t.endsAt} > ${t.startsAt}`),
  ],
);

export const donations = pgTable(
  'donations',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    donorId: integer('donor_id')
      .notNull()
      .references(() => donors.id),
    hospitalId: integer('hospital_id')
      .notNull()
      .references(() => hospitals.id),
    campaignId: integer('campaign_id').references(() => campaigns.id),
    bloodGroup: bloodGroupEnum('blood_group').notNull(),
    units: integer('units').notNull(),
    donatedAt: timestamp('donated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    // Per-parent pages are newest first by id (ids grow with donatedAt).
    index('donations_donor_id_idx').on(t.donorId, t.id),
    index('donations_campaign_id_idx').on(t.campaignId, t.id),
    index('donations_hospital_id_idx').on(t.hospitalId),
    check('donations_units_range', sql`${t.units} between 1 and 2`),
  ],
);

/**
 * The transactional invalidation outbox: what each committed write changed, inserted by the
 * write's own statement or transaction (so a commit without its invalidation record cannot
 * exist), then applied to the cache by the writer and, should it fail or die, by any
 * instance's relay (src/outbox.ts). `keyspace` is the CACHE_PREFIX: instances of one deployment
 * share it and relay only their own keyspace's rows.
 *
 * A row holds precomputed `tags`, or `changes`: the declared entities' rows before and after
 * the write as JSON, from which writer and relay derive the tags through the same declaration.
 * A single-statement write knows the row it replaced only inside the statement, so it cannot
 * compute tags before inserting its outbox row; it stores the change instead.
 */
export const cacheInvalidations = pgTable(
  'cache_invalidations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    keyspace: text('keyspace').notNull(),
    tags: text('tags').array().notNull(),
    /** [{ entity, before, after }]: see src/cache/changes.ts. Null when the tags say it all. */
    changes: jsonb('changes'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    appliedAt: timestamp('applied_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    // The relay's poll reads only outstanding rows; applied ones are pruned by age.
    index('cache_invalidations_outstanding_idx').on(t.keyspace, t.id).where(sql`${t.appliedAt} IS NULL`),
    index('cache_invalidations_applied_idx').on(t.appliedAt),
  ],
);

/**
 * Per-instance serving leases: an instance reads its shared cache only while its row here is
 * unexpired (by PostgreSQL's clock), and renews it only after applying the outbox. A writer
 * whose own invalidation failed waits for its row to be applied or for every other lease of
 * its keyspace to lapse.
 */
export const cacheLeases = pgTable(
  'cache_leases',
  {
    instanceId: text('instance_id').primaryKey(),
    keyspace: text('keyspace').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('cache_leases_keyspace_idx').on(t.keyspace, t.expiresAt)],
);

export type DonorRow = typeof donors.$inferSelect;
/**
 * A donor as shared caches and event streams hold it: without the PRIVATE contact
 * fields, which are loaded per request, for those allowed to see them.
 */
export type DonorProfile = Omit<DonorRow, 'email' | 'phone'> & Partial<Pick<DonorRow, 'email' | 'phone'>>;
export type UserRow = typeof users.$inferSelect;
export type HospitalRow = typeof hospitals.$inferSelect;
export type InventoryRow = typeof inventory.$inferSelect;
export type BloodRequestRow = typeof bloodRequests.$inferSelect;
export type CampaignRow = typeof campaigns.$inferSelect;
export type DonationRow = typeof donations.$inferSelect;
export type BloodGroup = (typeof bloodGroupEnum.enumValues)[number];
export type Urgency = (typeof urgencyEnum.enumValues)[number];
export type RequestStatus = (typeof requestStatusEnum.enumValues)[number];
export type Role = (typeof roleEnum.enumValues)[number];

/** The aggregate row behind DashboardStats. */
export interface DashboardStatsRow {
  totalDonors: number;
  totalUnitsCollected: number;
  openRequests: number;
  pendingEmergencyRequests: number;
  inventory: { bloodGroup: BloodGroup; units: number }[];
  generatedAt: Date;
}
