// Deterministic synthetic data. Everything is drawn from a seeded PRNG and dated
// relative to `options.now`, so the same options give byte-identical rows (only the
// salted password hashes of the demo accounts differ from run to run).
//
// The data is planned in memory first (typed arrays for the big tables), then
// written in one transaction with multi-row INSERTs in chunks, parents before
// children. Ids come from `GENERATED ALWAYS AS IDENTITY` and are read back with
// RETURNING, so seeding also works on a database whose sequences are not at 1.
import { sql } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import { hashPassword } from '../auth/passwords.js';
import { rows, type Db, type Tx } from './client.js';
import { mulberry32 } from './prng.js';
import {
  bloodGroupEnum,
  bloodRequests,
  campaigns,
  donations,
  donors,
  hospitals,
  inventory,
  users,
  type BloodGroup,
  type RequestStatus,
  type Role,
  type Urgency,
} from './schema.js';

export interface SeedOptions {
  /** Donors to create. Default 10,000. */
  donors?: number;
  /** Hospitals, spread round-robin over the 8 regions. Default 200. */
  hospitals?: number;
  /** Donations over the two years before `now`, one unit each. Default 50,000. */
  donations?: number;
  /** Campaigns (about 60% past, 20% active at `now`, 20% future). Default 40. */
  campaigns?: number;
  /** Blood requests (OPEN, FULFILLED and CANCELLED; some OPEN EMERGENCY). Default 300. */
  requests?: number;
  /** PRNG seed: the same seed and sizes give the same rows. Default 42. */
  seed?: number;
  /** Reference time every date is relative to. Default `new Date()`. */
  now?: Date;
  /** Truncate every table of the schema (RESTART IDENTITY CASCADE) first. Default false. */
  reset?: boolean;
  /** Create the demo accounts of DEMO_ACCOUNTS. Default true. */
  accounts?: boolean;
  /** Progress messages (one line each). Default: silent. */
  log?: (message: string) => void;
}

export interface SeedSummary {
  donors: number;
  hospitals: number;
  inventory: number;
  donations: number;
  campaigns: number;
  bloodRequests: number;
  users: number;
  seed: number;
  now: Date;
  durationMs: number;
}

/** The accounts every seed creates; the donor account is linked to the first seeded donor. */
export const DEMO_ACCOUNTS = {
  staff: { email: 'staff@lifeline.example', password: 'staff-password', role: 'STAFF' },
  admin: { email: 'admin@lifeline.example', password: 'admin-password', role: 'ADMIN' },
  donor: { email: 'donor@lifeline.example', password: 'donor-password', role: 'DONOR' },
} as const satisfies Record<string, { email: string; password: string; role: Role }>;

/** The small set seeded on first start of the embedded database. */
export const DEMO_SEED: SeedOptions = Object.freeze({
  donors: 200,
  hospitals: 20,
  donations: 1_000,
  campaigns: 12,
  requests: 60,
});

export const DEFAULT_SEED = Object.freeze({
  donors: 10_000,
  hospitals: 200,
  donations: 50_000,
  campaigns: 40,
  requests: 300,
  seed: 42,
});

/** Upper bounds that keep the in-memory plan and the run time sane. */
export const SEED_LIMITS = Object.freeze({
  donors: { min: 1, max: 1_000_000 },
  hospitals: { min: 1, max: 10_000 },
  donations: { min: 0, max: 5_000_000 },
  campaigns: { min: 0, max: 1_000 },
  requests: { min: 0, max: 100_000 },
  seed: { min: 0, max: 2 ** 32 - 1 },
});

export const REGIONS: readonly { name: string; cities: readonly string[] }[] = Object.freeze([
  { name: 'North', cities: ['Northgate', 'Frostholm', 'Pinecrest', 'Ridgeview'] },
  { name: 'South', cities: ['Southport', 'Sunvale', 'Marigold', 'Palmera'] },
  { name: 'East', cities: ['Eastbrook', 'Dawnford', 'Ashby', 'Kestrel Bay'] },
  { name: 'West', cities: ['Westfield', 'Sunset Hills', 'Redrock', 'Cedar Falls'] },
  { name: 'Central', cities: ['Midtown', 'Crossroads', 'Hearthstone', 'Fairmont'] },
  { name: 'Coast', cities: ['Seabright', 'Harbourview', 'Saltmarsh', 'Gull Point'] },
  { name: 'Highlands', cities: ['Stonepeak', 'Glenmore', 'Eagle Crest', 'Heatherby'] },
  { name: 'Lakes', cities: ['Lakemont', 'Willowmere', 'Reedsby', 'Mirror Lake'] },
]);

/** Whole-blood eligibility gap the seed respects where it can (a donor is not drawn again sooner). */
const ELIGIBILITY_GAP_DAYS = 56;
const POINTS_PER_UNIT = 10;
/** Share of a region's donations that go to a campaign running in that region at the time. */
const CAMPAIGN_SHARE = 0.3;
const HISTORY_DAYS = 730;
const DAY = 86_400_000;
const HOUR = 3_600_000;

const BLOOD_GROUPS = bloodGroupEnum.enumValues;
/** Rough population frequencies, in BLOOD_GROUPS order (A+ A- B+ B- AB+ AB- O+ O-). */
const GROUP_WEIGHTS = [34, 6, 9, 2, 3, 1, 38, 7];

const FIRST_NAMES = [
  'Ada', 'Ben', 'Chloe', 'Dan', 'Elena', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jonas', 'Kira', 'Liam',
  'Maya', 'Noah', 'Olga', 'Pablo', 'Quinn', 'Rosa', 'Sami', 'Tara', 'Umar', 'Vera', 'Wen', 'Xavier',
  'Yara', 'Zane', 'Amara', 'Bruno', 'Celia', 'Dev', 'Emil', 'Fatima', 'Gus', 'Hana', 'Ivan', 'Jade',
  'Kofi', 'Lena', 'Marco', 'Nia', 'Oscar', 'Priya', 'Rafael', 'Sofia', 'Tomas', 'Uma', 'Victor', 'Wanda',
  'Yusuf', 'Zoe', 'Aiko', 'Bea', 'Carlos', 'Dina', 'Eli', 'Freya', 'Gita', 'Hector', 'Isla', 'Jin',
  'Karim', 'Luz', 'Mateo', 'Nora',
];
const LAST_NAMES = [
  'Adams', 'Baker', 'Costa', 'Diaz', 'Evans', 'Fischer', 'Garcia', 'Hughes', 'Ito', 'Jensen', 'Khan',
  'Lopez', 'Moreau', 'Nakamura', 'Okafor', 'Patel', 'Quist', 'Rossi', 'Silva', 'Tanaka', 'Usman',
  'Varga', 'Walsh', 'Xu', 'Yilmaz', 'Zhou', 'Abbott', 'Bianchi', 'Chen', 'Dubois', 'Eriksen', 'Ferreira',
  'Gupta', 'Haddad', 'Ivanova', 'Johansson', 'Kowalski', 'Larsen', 'Mensah', 'Novak', 'Olsen', 'Popescu',
  'Reyes', 'Schmidt', 'Torres', 'Ueda', 'Vasquez', 'Weber', 'Young', 'Zamora', 'Ahmed', 'Brennan',
  'Castillo', 'Devi', 'Engel', 'Fontaine', 'Grant', 'Horvat', 'Ibrahim', 'Kim', 'Lund', 'Murphy', 'Nguyen',
  'Ortiz',
];
const HOSPITAL_KINDS = [
  'General Hospital', 'Memorial Hospital', 'University Hospital', 'Community Hospital',
  'Regional Medical Centre', "Children's Hospital", 'Infirmary', 'Blood Centre', 'Royal Hospital',
  "St. Luke's Hospital",
];
const CAMPAIGN_THEMES = ['Blood Drive', 'Donor Day', 'Lifesaver Week', 'Give Blood Appeal', 'Community Drive', 'Heroes Drive'];
const SEASONS = ['Winter', 'Winter', 'Spring', 'Spring', 'Spring', 'Summer', 'Summer', 'Summer', 'Autumn', 'Autumn', 'Autumn', 'Winter'];

// ---------------------------------------------------------------- PRNG (./prng.ts)


/** One independent stream per table, so changing one size leaves the other tables' rows unchanged. */
function stream(seed: number, label: string) {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  const next = mulberry32(h);
  const int = (n: number) => Math.floor(next() * n); // 0..n-1
  return {
    next,
    int,
    range: (min: number, max: number) => min + int(max - min + 1), // inclusive
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    chance: (p: number) => next() < p,
    weighted: (weights: readonly number[]) => {
      const total = weights.reduce((a, b) => a + b, 0);
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i]!;
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
  };
}

// ---------------------------------------------------------------- options

export type ResolvedSeedOptions = Required<Pick<SeedOptions, keyof typeof SEED_LIMITS>> & { now: Date };

/** Fills in defaults and validates; throws a RangeError whose message is one line naming the option. */
export function resolveSeedOptions(options: SeedOptions = {}): ResolvedSeedOptions {
  const resolved = {
    donors: options.donors ?? DEFAULT_SEED.donors,
    hospitals: options.hospitals ?? DEFAULT_SEED.hospitals,
    donations: options.donations ?? DEFAULT_SEED.donations,
    campaigns: options.campaigns ?? DEFAULT_SEED.campaigns,
    requests: options.requests ?? DEFAULT_SEED.requests,
    seed: options.seed ?? DEFAULT_SEED.seed,
    now: options.now ?? new Date(),
  };
  for (const key of Object.keys(SEED_LIMITS) as (keyof typeof SEED_LIMITS)[]) {
    const value = resolved[key];
    const { min, max } = SEED_LIMITS[key];
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`${key} must be an integer from ${min} to ${max.toLocaleString('en-US')}: ${value}`);
    }
  }
  if (Number.isNaN(resolved.now.getTime())) throw new RangeError('now must be a valid date');
  return resolved;
}

// ---------------------------------------------------------------- plan (pure)

type HospitalInsert = typeof hospitals.$inferInsert;
type DonorInsert = typeof donors.$inferInsert;
type CampaignInsert = typeof campaigns.$inferInsert;
type InventoryInsert = typeof inventory.$inferInsert;
type RequestInsert = typeof bloodRequests.$inferInsert;

/** The seed data before insertion. Foreign keys are 0-based indexes into the parent arrays. */
export interface SeedPlan {
  hospitals: (HospitalInsert & { regionIndex: number })[];
  donors: (DonorInsert & { regionIndex: number })[];
  /** Campaigns in insertion (startsAt) order. */
  campaigns: (Omit<CampaignInsert, 'hospitalId'> & { hospitalIndex: number })[];
  inventory: (Omit<InventoryInsert, 'hospitalId'> & { hospitalIndex: number })[];
  /** Requests in insertion (createdAt) order. */
  requests: (Omit<RequestInsert, 'hospitalId'> & { hospitalIndex: number })[];
  /** Donations in insertion order, which is donatedAt order (ids grow with time). */
  donations: {
    count: number;
    donatedAt: Float64Array;
    donorIndex: Int32Array;
    hospitalIndex: Int32Array;
    /** -1 when not part of a campaign. */
    campaignIndex: Int32Array;
  };
}

/** Builds every row in memory. Pure: the same options give the same plan. */
export function planSeed(options: SeedOptions = {}): SeedPlan {
  const o = resolveSeedOptions(options);
  const now = o.now.getTime();
  const historyStart = now - HISTORY_DAYS * DAY;
  const atSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

  // Hospitals: round-robin over the regions so every region has some as soon as there are 8.
  const hr = stream(o.seed, 'hospitals');
  const hospitalNames = new Map<string, number>();
  const hospitalRows: SeedPlan['hospitals'] = [];
  const hospitalsByRegion: number[][] = REGIONS.map(() => []);
  for (let i = 0; i < o.hospitals; i++) {
    const regionIndex = i % REGIONS.length;
    const region = REGIONS[regionIndex]!;
    const city = hr.pick(region.cities);
    const base = `${city} ${hr.pick(HOSPITAL_KINDS)}`;
    const seen = (hospitalNames.get(base) ?? 0) + 1;
    hospitalNames.set(base, seen);
    hospitalRows.push({ name: seen === 1 ? base : `${base} ${seen}`, region: region.name, city, regionIndex });
    hospitalsByRegion[regionIndex]!.push(i);
  }

  // Donors: unique names (middle initial, then a number on the rare collision), emails and phones.
  const dr = stream(o.seed, 'donors');
  const names = new Set<string>();
  const donorRows: SeedPlan['donors'] = [];
  for (let i = 0; i < o.donors; i++) {
    const n = i + 1;
    let name = '';
    for (let attempt = 0; attempt < 6 && (name === '' || names.has(name)); attempt++) {
      name = `${dr.pick(FIRST_NAMES)} ${String.fromCharCode(65 + dr.int(26))}. ${dr.pick(LAST_NAMES)}`;
    }
    if (names.has(name)) name = `${name} ${n}`;
    names.add(name);
    const regionIndex = dr.int(REGIONS.length);
    const region = REGIONS[regionIndex]!;
    const digits = String(n).padStart(7, '0');
    donorRows.push({
      name,
      bloodGroup: BLOOD_GROUPS[dr.weighted(GROUP_WEIGHTS)]!,
      region: region.name,
      city: dr.pick(region.cities),
      // The first donor is the demo donor account's profile, so it carries that account's email.
      email: n === 1 ? DEMO_ACCOUNTS.donor.email : `donor${n}@example.org`,
      phone: `+1-555-${digits.slice(0, 3)}-${digits.slice(3)}`,
      lastDonationAt: null,
      points: 0,
      createdAt: new Date(atSecond(historyStart - dr.next() * 1000 * DAY)),
      regionIndex,
    });
  }

  // Campaigns: 20% future, 20% active now, 60% in the past two years; inserted by startsAt.
  const cr = stream(o.seed, 'campaigns');
  const campaignDrafts: (SeedPlan['campaigns'][number] & { start: number; end: number; regionIndex: number })[] = [];
  for (let i = 0; i < o.campaigns; i++) {
    const hospitalIndex = cr.int(o.hospitals);
    const hospital = hospitalRows[hospitalIndex]!;
    const kind = i % 5;
    let start: number;
    let end: number;
    if (kind === 0) {
      start = now + cr.range(3, 90) * DAY;
      end = start + cr.range(7, 42) * DAY;
    } else if (kind === 1) {
      start = now - cr.range(1, 21) * DAY;
      end = now + cr.range(1, 30) * DAY;
    } else {
      const length = cr.range(7, 42) * DAY;
      start = historyStart + cr.next() * (HISTORY_DAYS * DAY - length - DAY);
      end = start + length;
    }
    start = atSecond(start - (start % HOUR));
    end = atSecond(end - (end % HOUR));
    // Goal: about what the campaign should collect at the seeded donation rate, give or take.
    const regionRatePerDay = o.donations / HISTORY_DAYS / REGIONS.length;
    const expected = regionRatePerDay * CAMPAIGN_SHARE * ((end - start) / DAY);
    const goalUnits = Math.max(10, Math.round((expected * (0.6 + cr.next())) / 10) * 10);
    const month = new Date(start).getUTCMonth();
    campaignDrafts.push({
      title: `${SEASONS[month]} ${cr.pick(CAMPAIGN_THEMES)}: ${hospital.city}`,
      region: hospital.region,
      hospitalIndex,
      startsAt: new Date(start),
      endsAt: new Date(end),
      goalUnits,
      collectedUnits: 0,
      start,
      end,
      regionIndex: hospital.regionIndex,
    });
  }
  campaignDrafts.sort((a, b) => a.start - b.start || a.hospitalIndex - b.hospitalIndex);
  const campaignsByRegion: number[][] = REGIONS.map(() => []);
  const campaignsByHospital = new Map<number, number[]>();
  campaignDrafts.forEach((c, i) => {
    campaignsByRegion[c.regionIndex]!.push(i);
    const atHospital = campaignsByHospital.get(c.hospitalIndex) ?? [];
    atHospital.push(i);
    campaignsByHospital.set(c.hospitalIndex, atHospital);
  });

  // Donations: sorted timestamps first, so insertion order (and so id order) is time order.
  const nr = stream(o.seed, 'donations');
  const count = o.donations;
  const donatedAt = new Float64Array(count);
  for (let i = 0; i < count; i++) donatedAt[i] = atSecond(historyStart + nr.next() * (HISTORY_DAYS * DAY - 1000));
  donatedAt.sort();
  const donorIndex = new Int32Array(count);
  const hospitalIndex = new Int32Array(count);
  const campaignIndex = new Int32Array(count).fill(-1);
  const lastAt = new Float64Array(o.donors).fill(-Infinity);
  const unitsByDonor = new Int32Array(o.donors);
  const collected = new Int32Array(campaignDrafts.length);
  const gap = ELIGIBILITY_GAP_DAYS * DAY;
  const active: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = donatedAt[i]!;
    // Prefer a donor who is eligible at t (56 days since their last donation); give up after a few draws.
    let d = nr.int(o.donors);
    for (let attempt = 0; attempt < 8 && t - lastAt[d]! < gap; attempt++) d = nr.int(o.donors);
    const region = donorRows[d]!.regionIndex;
    let h = -1;
    let c = -1;
    active.length = 0;
    for (const ci of campaignsByRegion[region]!) {
      const camp = campaignDrafts[ci]!;
      if (camp.start <= t && t < camp.end) active.push(ci);
    }
    if (active.length > 0 && nr.chance(CAMPAIGN_SHARE)) {
      c = active[nr.int(active.length)]!;
      h = campaignDrafts[c]!.hospitalIndex;
    } else {
      const local = hospitalsByRegion[region]!;
      h = local.length > 0 && nr.chance(0.85) ? local[nr.int(local.length)]! : nr.int(o.hospitals);
      // Walk-ins at a hospital running a campaign count towards it half of the time.
      const running = campaignsByHospital.get(h)?.find((ci) => campaignDrafts[ci]!.start <= t && t < campaignDrafts[ci]!.end);
      if (running !== undefined && nr.chance(0.5)) c = running;
    }
    donorIndex[i] = d;
    hospitalIndex[i] = h;
    campaignIndex[i] = c;
    lastAt[d] = t;
    unitsByDonor[d]! += 1;
    if (c >= 0) collected[c]! += 1;
  }
  for (let d = 0; d < o.donors; d++) {
    const row = donorRows[d]!;
    row.points = unitsByDonor[d]! * POINTS_PER_UNIT;
    row.lastDonationAt = unitsByDonor[d]! > 0 ? new Date(lastAt[d]!) : null;
  }
  const campaignRows: SeedPlan['campaigns'] = campaignDrafts.map(({ start: _s, end: _e, regionIndex: _r, ...c }, i) => ({
    ...c,
    collectedUnits: collected[i]!,
  }));

  // Inventory: every hospital x blood group, 0..60 units, a few empty shelves.
  const ir = stream(o.seed, 'inventory');
  const inventoryRows: SeedPlan['inventory'] = [];
  for (let h = 0; h < o.hospitals; h++) {
    for (const bloodGroup of BLOOD_GROUPS) {
      inventoryRows.push({
        hospitalIndex: h,
        bloodGroup,
        units: ir.chance(0.06) ? 0 : ir.range(1, 60),
        updatedAt: new Date(atSecond(now - ir.next() * 3 * DAY)),
      });
    }
  }

  // Requests: OPEN ones are recent; every 20th is an OPEN EMERGENCY so there always are some.
  const rr = stream(o.seed, 'requests');
  const requestRows: SeedPlan['requests'] = [];
  const URGENCIES: Urgency[] = ['ROUTINE', 'URGENT', 'EMERGENCY'];
  const STATUSES: RequestStatus[] = ['OPEN', 'FULFILLED', 'CANCELLED'];
  for (let i = 0; i < o.requests; i++) {
    const forced = i % 20 === 0;
    const urgency = forced ? 'EMERGENCY' : URGENCIES[rr.weighted([55, 30, 15])]!;
    const status = forced ? 'OPEN' : STATUSES[rr.weighted([40, 45, 15])]!;
    const unitsNeeded = urgency === 'EMERGENCY' ? rr.range(1, 8) : urgency === 'URGENT' ? rr.range(2, 12) : rr.range(2, 20);
    const unitsFulfilled =
      status === 'FULFILLED' ? unitsNeeded : rr.chance(0.6) ? 0 : rr.int(unitsNeeded); // OPEN/CANCELLED: 0..needed-1
    const age = status === 'OPEN' ? rr.next() * 14 * DAY : rr.next() * 180 * DAY;
    requestRows.push({
      hospitalIndex: rr.int(o.hospitals),
      bloodGroup: BLOOD_GROUPS[rr.weighted(GROUP_WEIGHTS)]!,
      unitsNeeded,
      unitsFulfilled,
      urgency,
      status,
      createdAt: new Date(atSecond(now - age)),
    });
  }
  requestRows.sort((a, b) => a.createdAt!.getTime() - b.createdAt!.getTime());

  return {
    hospitals: hospitalRows,
    donors: donorRows,
    campaigns: campaignRows,
    inventory: inventoryRows,
    requests: requestRows,
    donations: { count, donatedAt, donorIndex, hospitalIndex, campaignIndex },
  };
}

// ---------------------------------------------------------------- database

/** Bind parameters per statement stay well under PostgreSQL's 65,535. */
const MAX_PARAMS = 50_000;
const MAX_ROWS = 5_000;
const chunkSize = (columns: number) => Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_PARAMS / columns)));

/**
 * Runs `send(i)` for chunks 0..count-1 with up to two statements in flight on the
 * transaction's connection, so PostgreSQL executes one chunk while we build the next
 * (building a multi-row INSERT is CPU-bound). Results come back in chunk order.
 */
async function pipelined<T>(count: number, send: (chunk: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  const inFlight: Promise<void>[] = [];
  let failure: { error: unknown } | undefined;
  for (let i = 0; i < count && !failure; i++) {
    // Every promise gets a handler at once: a later chunk failing while we await an
    // earlier one must not become an unhandled rejection.
    inFlight.push(
      send(i).then(
        (r) => void (results[i] = r),
        (error: unknown) => void (failure ??= { error }),
      ),
    );
    // Let the driver write this statement to the socket before we build the next one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (inFlight.length >= 2) await inFlight.shift();
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return results;
}

/** Multi-row INSERTs of `columns` columns each, in chunks under the bind-parameter limit. */
async function insertChunked<T>(
  tx: Tx,
  table: PgTable,
  count: number,
  columns: number,
  row: (index: number) => T,
): Promise<void> {
  const size = chunkSize(columns);
  await pipelined(Math.ceil(count / size), (chunk) => {
    const values: T[] = [];
    for (let i = chunk * size; i < Math.min(count, (chunk + 1) * size); i++) values.push(row(i));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return tx.insert(table).values(values as any).execute();
  });
}

/** As insertChunked, returning the generated ids in insertion order. */
async function insertReturningIds<T>(
  tx: Tx,
  table: PgTable & { id: AnyPgColumn },
  count: number,
  columns: number,
  row: (index: number) => T,
): Promise<number[]> {
  const size = chunkSize(columns);
  const chunks = await pipelined(Math.ceil(count / size), async (chunk) => {
    const values: T[] = [];
    for (let i = chunk * size; i < Math.min(count, (chunk + 1) * size); i++) values.push(row(i));
    const returned = await tx
      .insert(table)
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      .values(values as any)
      .returning({ id: table.id })
      .execute();
    // Identity values are drawn in VALUES order; sorting guards against any RETURNING reordering.
    return returned.map((r) => Number(r.id)).sort((a, b) => a - b);
  });
  return chunks.flat();
}

/** Truncates every table of the current schema (not drizzle's migration journal) and restarts their ids. */
export async function truncateAll(db: Db | Tx): Promise<void> {
  const tables = await rows<{ name: string }>(
    db,
    sql`select quote_ident(tablename) as name from pg_tables where schemaname = current_schema() order by tablename`,
  );
  if (tables.length === 0) return;
  await db.execute(sql.raw(`truncate table ${tables.map((t) => t.name).join(', ')} restart identity cascade`));
}

/** True when there are no donors, hospitals nor users (a fresh, migrated database). */
export async function isDatabaseEmpty(db: Db): Promise<boolean> {
  const [row] = await rows<{ empty: boolean }>(
    db,
    sql`select not (exists (select 1 from donors) or exists (select 1 from hospitals) or exists (select 1 from users)) as empty`,
  );
  return row!.empty === true;
}

/**
 * Seeds deterministic synthetic data in one transaction. Expects an empty database
 * (or `reset: true`): the demo accounts' emails are unique.
 */
export async function seedDatabase(db: Db, options: SeedOptions = {}): Promise<SeedSummary> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const o = resolveSeedOptions(options);
  const withAccounts = options.accounts ?? true;

  const plan = planSeed(o);
  log(`planned in ${Math.round(performance.now() - started)} ms`);
  // scrypt is deliberately slow; it runs on libuv's thread pool while we insert.
  const accountHashes = withAccounts
    ? Promise.all(Object.values(DEMO_ACCOUNTS).map((a) => hashPassword(a.password)))
    : Promise.resolve([]);
  accountHashes.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled

  const counts = await db.transaction(async (tx) => {
    if (options.reset) {
      await truncateAll(tx);
      log('truncated all tables');
    }
    const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      const result = await run();
      log(`${label} in ${Math.round(performance.now() - t0)} ms`);
      return result;
    };

    const hospitalIds = await step(`${plan.hospitals.length} hospitals`, () =>
      insertReturningIds(tx, hospitals, plan.hospitals.length, 3, (i) => {
        const { regionIndex: _r, ...row } = plan.hospitals[i]!;
        return row;
      }),
    );
    const donorIds = await step(`${plan.donors.length} donors`, () =>
      insertReturningIds(tx, donors, plan.donors.length, 9, (i) => {
        const { regionIndex: _r, ...row } = plan.donors[i]!;
        return row;
      }),
    );
    const campaignIds = await step(`${plan.campaigns.length} campaigns`, () =>
      insertReturningIds(tx, campaigns, plan.campaigns.length, 7, (i) => {
        const { hospitalIndex, ...row } = plan.campaigns[i]!;
        return { ...row, hospitalId: hospitalIds[hospitalIndex]! };
      }),
    );
    await step(`${plan.inventory.length} inventory rows`, () =>
      insertChunked(tx, inventory, plan.inventory.length, 4, (i) => {
        const { hospitalIndex, ...row } = plan.inventory[i]!;
        return { ...row, hospitalId: hospitalIds[hospitalIndex]! };
      }),
    );
    await step(`${plan.requests.length} blood requests`, () =>
      insertChunked(tx, bloodRequests, plan.requests.length, 7, (i) => {
        const { hospitalIndex, ...row } = plan.requests[i]!;
        return { ...row, hospitalId: hospitalIds[hospitalIndex]! };
      }),
    );
    const d = plan.donations;
    await step(`${d.count} donations`, () =>
      insertChunked(tx, donations, d.count, 6, (i): typeof donations.$inferInsert => {
        const donor = d.donorIndex[i]!;
        const campaign = d.campaignIndex[i]!;
        return {
          donorId: donorIds[donor]!,
          hospitalId: hospitalIds[d.hospitalIndex[i]!]!,
          campaignId: campaign >= 0 ? campaignIds[campaign]! : null,
          bloodGroup: plan.donors[donor]!.bloodGroup,
          units: 1,
          donatedAt: new Date(d.donatedAt[i]!),
        };
      }),
    );
    let userCount = 0;
    if (withAccounts) {
      const hashes = await accountHashes;
      const accounts = Object.values(DEMO_ACCOUNTS).map((a, i) => ({
        email: a.email,
        passwordHash: hashes[i]!,
        role: a.role,
        donorId: a.role === 'DONOR' ? donorIds[0]! : null,
        createdAt: o.now,
      }));
      await tx.insert(users).values(accounts);
      userCount = accounts.length;
    }
    return {
      hospitals: hospitalIds.length,
      donors: donorIds.length,
      campaigns: campaignIds.length,
      inventory: plan.inventory.length,
      bloodRequests: plan.requests.length,
      donations: d.count,
      users: userCount,
    };
  });

  return { ...counts, seed: o.seed, now: o.now, durationMs: Math.round(performance.now() - started) };
}
