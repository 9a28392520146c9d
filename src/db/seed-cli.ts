// `npm run db:seed -- --donors N [--hospitals N] [--donations N] [--campaigns N] [--requests N] [--seed N] [--reset]`
// Seeds DATABASE_URL, or the embedded PGlite database under DATA_DIR (default .data/pglite)
// when it is unset. Applies migrations first; refuses a non-empty database unless --reset.
import path from 'node:path';
import { loadConfig } from '../config.js';
import { createDatabase, type Database } from './client.js';
import { runMigrations } from './migrate.js';
import { DEFAULT_SEED, isDatabaseEmpty, resolveSeedOptions, seedDatabase, type SeedOptions } from './seed.js';
import { oneLine } from './cli-error.js';

const USAGE =
  'usage: npm run db:seed -- [--donors N] [--hospitals N] [--donations N] [--campaigns N] [--requests N] [--seed N] [--reset]';

const NUMERIC = ['donors', 'hospitals', 'donations', 'campaigns', 'requests', 'seed'] as const;
type NumericFlag = (typeof NUMERIC)[number];

class UsageError extends Error {}

/** Parses `--name N`, `--name=N` and `--reset`; throws a UsageError naming the bad flag. */
export function parseSeedArgs(argv: readonly string[]): SeedOptions & { help?: boolean } {
  const options: SeedOptions & { help?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      options.help = true;
      continue;
    }
    if (arg === '--reset') {
      options.reset = true;
      continue;
    }
    const match = /^--([a-z]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1] as NumericFlag | undefined;
    if (!match || !name || !NUMERIC.includes(name)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const raw = match[2] ?? argv[++i];
    if (raw === undefined || raw === '') throw new UsageError(`--${name} needs a value`);
    const cleaned = raw.replace(/_/g, '');
    if (!/^\d+$/.test(cleaned)) throw new UsageError(`--${name} must be a non-negative integer: ${JSON.stringify(raw)}`);
    options[name] = Number(cleaned);
  }
  try {
    resolveSeedOptions(options);
  } catch (err) {
    throw new UsageError(`--${(err as Error).message}`);
  }
  return options;
}

function target(): { url: string | undefined; dataDir: string; label: string } {
  // Only the two variables that matter here: an unrelated bad setting must not block seeding.
  const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: process.env.DATA_DIR });
  if (!config.databaseUrl) {
    return { url: undefined, dataDir: config.dataDir, label: `PGlite at ${path.resolve(config.dataDir)}` };
  }
  const u = new URL(config.databaseUrl);
  if (u.password) u.password = '***';
  return { url: config.databaseUrl, dataDir: config.dataDir, label: u.toString() };
}

const fmt = (n: number) => n.toLocaleString('en-US');

async function main(argv: readonly string[]): Promise<number> {
  let options: ReturnType<typeof parseSeedArgs>;
  try {
    options = parseSeedArgs(argv);
  } catch (err) {
    console.error(`db:seed: ${(err as Error).message} (see --help)`);
    return 1;
  }
  if (options.help) {
    console.log(
      `${USAGE}\ndefaults: ${Object.entries(DEFAULT_SEED)
        .map(([k, v]) => `--${k} ${v}`)
        .join(' ')}`,
    );
    return 0;
  }

  let database: Database | undefined;
  try {
    const t = target();
    database = await createDatabase({ url: t.url, dataDir: t.dataDir, maxConnections: 1 });
    await runMigrations(database);
    if (!options.reset && !(await isDatabaseEmpty(database.db))) {
      console.error(`db:seed: ${t.label} already has data; re-run with --reset to delete ALL of it and seed afresh`);
      return 1;
    }
    const o = resolveSeedOptions(options);
    console.log(
      `Seeding ${t.label}${options.reset ? ' (reset)' : ''}: ${fmt(o.donors)} donors, ${fmt(o.hospitals)} hospitals, ` +
        `${fmt(o.donations)} donations, seed ${o.seed}`,
    );
    const summary = await seedDatabase(database.db, {
      ...options,
      log: (message) => console.log(`  ${message}`),
    });
    console.log(
      `Seeded in ${(summary.durationMs / 1000).toFixed(1)} s: ${fmt(summary.donors)} donors, ${fmt(summary.hospitals)} hospitals, ` +
        `${fmt(summary.inventory)} inventory rows, ${fmt(summary.donations)} donations, ${fmt(summary.campaigns)} campaigns, ` +
        `${fmt(summary.bloodRequests)} blood requests, ${fmt(summary.users)} users`,
    );
    return 0;
  } catch (err) {
    console.error(`db:seed failed: ${oneLine(err)}`);
    return 1;
  } finally {
    await database?.close().catch(() => {});
  }
}


if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
