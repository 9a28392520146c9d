// The synthetic data set (src/db/seed.ts) on real PostgreSQL: deterministic, the requested
// size, and internally consistent the way the app's writes keep it consistent.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asc, sql } from 'drizzle-orm';
import { verifyPassword } from '../src/auth/passwords.js';
import { createDatabase, rows, type Database, type Db } from '../src/db/client.js';
import {
  bloodRequests,
  campaigns,
  donations,
  donors,
  hospitals,
  inventory,
  users,
} from '../src/db/schema.js';
import {
  DEMO_ACCOUNTS,
  REGIONS,
  isDatabaseEmpty,
  seedDatabase,
  type SeedOptions,
} from '../src/db/seed.js';
import { parseSeedArgs } from '../src/db/seed-cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const NOW = new Date('2026-03-15T12:00:00.000Z');
const SMALL: SeedOptions = { donors: 300, hospitals: 24, donations: 2_000, campaigns: 15, requests: 80, seed: 7, now: NOW };

interface Opened {
  database: Database;
  testDb: TestDatabase;
}
const opened: Opened[] = [];

async function freshDatabase(): Promise<Db> {
  const testDb = await createTestDatabase();
  const database = await createDatabase({ url: testDb.url, maxConnections: 2 });
  opened.push({ database, testDb });
  return database.db;
}

afterAll(async () => {
  for (const { database, testDb } of opened) {
    await database.close();
    await testDb.drop();
  }
});

/** sha256 per table of every row in id order (users without the salted password hash). */
async function digest(db: Db): Promise<Record<string, string>> {
  const hash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');
  const userRows = await db
    .select({ id: users.id, email: users.email, role: users.role, donorId: users.donorId, createdAt: users.createdAt })
    .from(users)
    .orderBy(asc(users.id));
  return {
    donors: hash(await db.select().from(donors).orderBy(asc(donors.id))),
    hospitals: hash(await db.select().from(hospitals).orderBy(asc(hospitals.id))),
    inventory: hash(await db.select().from(inventory).orderBy(asc(inventory.hospitalId), asc(inventory.bloodGroup))),
    campaigns: hash(await db.select().from(campaigns).orderBy(asc(campaigns.id))),
    bloodRequests: hash(await db.select().from(bloodRequests).orderBy(asc(bloodRequests.id))),
    donations: hash(await db.select().from(donations).orderBy(asc(donations.id))),
    users: hash(userRows),
  };
}

const count = async (db: Db, table: string) =>
  (await rows<{ n: number }>(db, sql.raw(`select count(*)::int as n from ${table}`)))[0]!.n;

/** Runs a query that lists violations; returns how many there are. */
const violations = async (db: Db, query: string) =>
  (await rows<{ n: number }>(db, sql.raw(`select count(*)::int as n from (${query}) v`)))[0]!.n;

describe('seedDatabase on PostgreSQL', () => {
  let db: Db;

  beforeAll(async () => {
    db = await freshDatabase();
  });

  it('starts from an empty database and reports what it wrote', async () => {
    expect(await isDatabaseEmpty(db)).toBe(true);
    const summary = await seedDatabase(db, SMALL);
    expect(summary).toMatchObject({
      donors: 300,
      hospitals: 24,
      inventory: 24 * 8,
      donations: 2_000,
      campaigns: 15,
      bloodRequests: 80,
      users: 3,
      seed: 7,
      now: NOW,
    });
    expect(await isDatabaseEmpty(db)).toBe(false);
    expect(await count(db, 'donors')).toBe(300);
    expect(await count(db, 'hospitals')).toBe(24);
    expect(await count(db, 'donations')).toBe(2_000);
    expect(await count(db, 'campaigns')).toBe(15);
    expect(await count(db, 'blood_requests')).toBe(80);
    expect(await count(db, 'users')).toBe(3);
    // A fresh database starts every identity at 1.
    expect(await rows(db, sql`select min(id)::int as min, max(id)::int as max from donors`)).toEqual([{ min: 1, max: 300 }]);
  });

  it('is deterministic: the same options on another database give identical rows', async () => {
    const other = await freshDatabase();
    await seedDatabase(other, SMALL);
    expect(await digest(other)).toEqual(await digest(db));
  });

  it('changes with the seed', async () => {
    const other = await freshDatabase();
    await seedDatabase(other, { ...SMALL, seed: 8 });
    const [a, b] = [await digest(db), await digest(other)];
    expect(b.donors).not.toEqual(a.donors);
    expect(b.donations).not.toEqual(a.donations);
  });

  it('has inventory for every hospital and blood group, 0..60 units, some empty', async () => {
    expect(await count(db, 'inventory')).toBe(24 * 8);
    expect(
      await violations(
        db,
        `select 1 from hospitals h cross join unnest(enum_range(null::blood_group)) g
         left join inventory i on i.hospital_id = h.id and i.blood_group = g where i.hospital_id is null`,
      ),
    ).toBe(0);
    expect(await violations(db, 'select 1 from inventory where units < 0 or units > 60')).toBe(0);
    expect(await rows(db, sql`select count(*)::int as n from inventory where units = 0`)).not.toEqual([{ n: 0 }]);
  });

  it('spreads hospitals over the 8 regions, and cities belong to their region', async () => {
    const regions = await rows<{ region: string }>(db, sql`select distinct region from hospitals order by region`);
    expect(regions.map((r) => r.region)).toEqual(REGIONS.map((r) => r.name).sort());
    const cityOf = new Map(REGIONS.flatMap((r) => r.cities.map((c) => [c, r.name] as const)));
    const places = [
      ...(await db.select({ region: hospitals.region, city: hospitals.city }).from(hospitals)),
      ...(await db.select({ region: donors.region, city: donors.city }).from(donors)),
    ];
    for (const p of places) expect(cityOf.get(p.city)).toBe(p.region);
  });

  it('gives donors unique names, emails and phones', async () => {
    expect(
      await rows(
        db,
        sql`select count(distinct name)::int as names, count(distinct email)::int as emails,
                   count(distinct phone)::int as phones from donors`,
      ),
    ).toEqual([{ names: 300, emails: 300, phones: 300 }]);
    const [first, second] = await db.select({ email: donors.email }).from(donors).orderBy(asc(donors.id)).limit(2);
    expect(first!.email).toBe(DEMO_ACCOUNTS.donor.email);
    expect(second!.email).toBe('donor2@example.org');
  });

  it("keeps donors' points and lastDonationAt consistent with their donations", async () => {
    expect(
      await violations(
        db,
        `select 1 from donors d
         left join (select donor_id, sum(units) as units, max(donated_at) as last from donations group by donor_id) x
           on x.donor_id = d.id
         where d.points <> 10 * coalesce(x.units, 0) or d.last_donation_at is distinct from x.last`,
      ),
    ).toBe(0);
    // Donations carry their donor's blood group, one unit each, dated in the two years before now.
    expect(
      await violations(
        db,
        `select 1 from donations n join donors d on d.id = n.donor_id
         where n.blood_group <> d.blood_group or n.units <> 1
            or n.donated_at > '${NOW.toISOString()}' or n.donated_at < timestamptz '${NOW.toISOString()}' - interval '731 days'`,
      ),
    ).toBe(0);
  });

  it('inserts donations in donatedAt order, so ids grow with time', async () => {
    expect(
      await violations(
        db,
        'select 1 from (select donated_at < lag(donated_at) over (order by id) as back from donations) x where back',
      ),
    ).toBe(0);
  });

  it('mostly sends donors to hospitals of their own region', async () => {
    const [row] = await rows<{ share: number }>(
      db,
      sql`select avg((h.region = d.region)::int)::float as share
          from donations n join donors d on d.id = n.donor_id join hospitals h on h.id = n.hospital_id`,
    );
    expect(row!.share).toBeGreaterThan(0.75);
  });

  it("keeps campaigns' collectedUnits equal to their donations, which fall in the window at the campaign's hospital", async () => {
    expect(
      await violations(
        db,
        `select 1 from campaigns c
         left join (select campaign_id, sum(units) as units from donations where campaign_id is not null group by campaign_id) x
           on x.campaign_id = c.id
         where c.collected_units <> coalesce(x.units, 0)`,
      ),
    ).toBe(0);
    expect(
      await violations(
        db,
        `select 1 from donations n join campaigns c on c.id = n.campaign_id
         where n.hospital_id <> c.hospital_id or n.donated_at < c.starts_at or n.donated_at >= c.ends_at
            or c.region <> (select region from hospitals where id = c.hospital_id)`,
      ),
    ).toBe(0);
    const [phases] = await rows<{ past: number; active: number; future: number; linked: number }>(
      db,
      sql`select count(*) filter (where ends_at <= ${NOW.toISOString()}::timestamptz)::int as past,
                 count(*) filter (where starts_at <= ${NOW.toISOString()}::timestamptz and ends_at > ${NOW.toISOString()}::timestamptz)::int as active,
                 count(*) filter (where starts_at > ${NOW.toISOString()}::timestamptz)::int as future,
                 (select count(*)::int from donations where campaign_id is not null) as linked
          from campaigns`,
    );
    expect(phases!.past).toBeGreaterThan(0);
    expect(phases!.active).toBeGreaterThan(0);
    expect(phases!.future).toBeGreaterThan(0);
    expect(phases!.linked).toBeGreaterThan(0);
  });

  it('mixes request statuses and urgencies, with unitsFulfilled consistent with the status', async () => {
    expect(
      await violations(
        db,
        `select 1 from blood_requests
         where (status = 'FULFILLED' and units_fulfilled <> units_needed)
            or (status <> 'FULFILLED' and units_fulfilled >= units_needed)`,
      ),
    ).toBe(0);
    const mix = await rows<{ status: string; urgency: string }>(
      db,
      sql`select distinct status::text, urgency::text from blood_requests`,
    );
    for (const status of ['OPEN', 'FULFILLED', 'CANCELLED']) expect(mix.some((m) => m.status === status)).toBe(true);
    for (const urgency of ['ROUTINE', 'URGENT', 'EMERGENCY']) expect(mix.some((m) => m.urgency === urgency)).toBe(true);
    expect(mix).toContainEqual({ status: 'OPEN', urgency: 'EMERGENCY' });
  });

  it('creates the demo accounts with working passwords, the donor one linked to donor #1', async () => {
    const accounts = await db.select().from(users).orderBy(asc(users.id));
    expect(accounts).toHaveLength(3);
    for (const demo of Object.values(DEMO_ACCOUNTS)) {
      const account = accounts.find((a) => a.email === demo.email);
      expect(account).toMatchObject({ role: demo.role, donorId: demo.role === 'DONOR' ? 1 : null });
      expect(await verifyPassword(demo.password, account!.passwordHash)).toBe(true);
      expect(await verifyPassword(`${demo.password}x`, account!.passwordHash)).toBe(false);
    }
  });

  it('reset truncates everything and restarts ids, giving the same rows again', async () => {
    const before = await digest(db);
    await seedDatabase(db, { ...SMALL, reset: true });
    expect(await digest(db)).toEqual(before);
  });

  it('rejects bad sizes with a message naming the option', async () => {
    await expect(seedDatabase(db, { donors: 0 })).rejects.toThrow(/^donors must be an integer from 1/);
    await expect(seedDatabase(db, { donations: 1.5 })).rejects.toThrow(/^donations must be an integer/);
  });
});

// PGlite cannot load inside jest's VM (it needs dynamic import), so the embedded path is
// exercised through the CLIs in a child process, as `npm run db:seed` runs them.
describe('db:seed and db:migrate CLIs', () => {
  const tsx = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
  const root = path.join(__dirname, '..');
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'lifeline-seed-cli-'));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  function run(script: string, args: string[], env: Record<string, string | undefined>) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: undefined, DATA_DIR: undefined, ...env };
    for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
    const r = spawnSync(tsx, [path.join('src', 'db', script), ...args], { cwd: root, env: childEnv, encoding: 'utf8', timeout: 90_000 });
    return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
  }
  const tiny = ['--donors', '50', '--hospitals', '8', '--donations', '200', '--campaigns', '5', '--requests', '20'];

  it('migrate, seed and refuse a second seed on an embedded PGlite directory', () => {
    const env = { DATA_DIR: path.join(dataDir, 'pglite') };
    const migrated = run('migrate-cli.ts', [], env);
    expect(migrated).toMatchObject({ code: 0, stderr: '' });
    expect(migrated.stdout).toMatch(/^PGlite at .*: applied 3 migrations in \d+ ms: 0000_init, 0001_cache_outbox, 0002_outbox_changes$/);

    const seeded = run('seed-cli.ts', tiny, env);
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toMatch(/Seeded in [\d.]+ s: 50 donors, 8 hospitals, 64 inventory rows, 200 donations, 5 campaigns, 20 blood requests, 3 users$/);

    const again = run('seed-cli.ts', tiny, env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^db:seed: PGlite at .* already has data; re-run with --reset/);
    expect(again.stderr.split('\n')).toHaveLength(1);
  }, 180_000);

  // Through the CLI rather than in-process: jest's VM makes drizzle's query building several
  // times slower, and the time worth logging is the one `npm run db:seed` takes.
  it('seeds the default size (10,000 donors, 200 hospitals, 50,000 donations) into DATABASE_URL, then refuses or resets', async () => {
    const testDb = await createTestDatabase();
    const check = await createDatabase({ url: testDb.url, maxConnections: 1 });
    try {
      const started = Date.now();
      const seeded = run('seed-cli.ts', [], { DATABASE_URL: testDb.url });
      expect(seeded.stderr).toBe('');
      expect(seeded.code).toBe(0);
      const line = seeded.stdout.split('\n').pop()!;
      console.log(`db:seed default size: ${line} (process ${Date.now() - started} ms)`);
      expect(line).toMatch(
        /^Seeded in [\d.]+ s: 10,000 donors, 200 hospitals, 1,600 inventory rows, 50,000 donations, 40 campaigns, 300 blood requests, 3 users$/,
      );
      expect(await count(check.db, 'donations')).toBe(50_000);
      expect(await count(check.db, 'inventory')).toBe(1_600);
      expect(
        await violations(
          check.db,
          `select 1 from donors d left join (select donor_id, count(*) as n, max(donated_at) as last from donations group by donor_id) x
             on x.donor_id = d.id
           where d.points <> 10 * coalesce(x.n, 0) or d.last_donation_at is distinct from x.last`,
        ),
      ).toBe(0);

      const refused = run('seed-cli.ts', tiny, { DATABASE_URL: testDb.url });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^db:seed: postgres:\/\/.* already has data; re-run with --reset/);

      const reset = run('seed-cli.ts', [...tiny, '--reset'], { DATABASE_URL: testDb.url });
      expect(reset.stderr).toBe('');
      expect(reset.code).toBe(0);
      expect(await rows(check.db, sql`select count(*)::int as n, min(id)::int as first from donors`)).toEqual([{ n: 50, first: 1 }]);
    } finally {
      await check.close();
      await testDb.drop();
    }
  }, 180_000);

  it.each([
    [['--donors'], /^--donors needs a value$/],
    [['--donors', 'ten'], /^--donors must be a non-negative integer: "ten"$/],
    [['--donors', '0'], /^--donors must be an integer from 1 to 1,000,000: 0$/],
    [['--hospitals=20000'], /^--hospitals must be an integer from 1 to 10,000: 20000$/],
    [['--colour', 'red'], /^unknown argument "--colour"$/],
  ])('rejects %j with a message naming the flag', (args, message) => {
    expect(() => parseSeedArgs(args)).toThrow(message);
  });

  it('parses sizes, --name=N, 10_000 and --reset', () => {
    expect(parseSeedArgs(['--donors', '10_000', '--donations=500', '--seed', '0', '--reset'])).toEqual({
      donors: 10_000,
      donations: 500,
      seed: 0,
      reset: true,
    });
  });

  it('exits 1 with one line on a bad flag', () => {
    const r = run('seed-cli.ts', ['--donors', 'ten'], {});
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'db:seed: --donors must be a non-negative integer: "ten" (see --help)' });
  }, 60_000);

  it('fails in one line when the database is unreachable', () => {
    const r = run('migrate-cli.ts', [], { DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/none' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^db:migrate failed: .*ECONNREFUSED/);
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).not.toContain('secret');
  }, 60_000);
});
