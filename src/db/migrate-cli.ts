// `npm run db:migrate`: applies pending drizzle-kit migrations to DATABASE_URL, or to the
// embedded PGlite database under DATA_DIR (default .data/pglite) when it is unset.
// Prints what it applied; exits 1 with one line on any failure.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../config.js';
import { createDatabase, rows, type Database } from './client.js';
import { MIGRATIONS_FOLDER, runMigrations } from './migrate.js';
import { oneLine } from './cli-error.js';

/** The database a CLI works on, with the password of a URL masked for printing. */
function target(): { url: string | undefined; dataDir: string; label: string } {
  // Only the two variables that matter here: an unrelated bad setting must not block a migration.
  const config = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: process.env.DATA_DIR });
  if (!config.databaseUrl) {
    return { url: undefined, dataDir: config.dataDir, label: `PGlite at ${path.resolve(config.dataDir)}` };
  }
  const u = new URL(config.databaseUrl);
  if (u.password) u.password = '***';
  return { url: config.databaseUrl, dataDir: config.dataDir, label: u.toString() };
}

/** Migration tags in journal order, keyed by the folder timestamp drizzle records as created_at. */
function journal(): Map<number, string> {
  const file = path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json');
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { entries: { when: number; tag: string }[] };
  return new Map(parsed.entries.map((e) => [e.when, e.tag]));
}

async function applied(database: Database): Promise<number[]> {
  const [exists] = await rows<{ ok: boolean }>(
    database.db,
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as ok`,
  );
  if (!exists?.ok) return [];
  const list = await rows<{ created_at: string | number }>(
    database.db,
    sql`select created_at from drizzle.__drizzle_migrations order by created_at`,
  );
  return list.map((r) => Number(r.created_at));
}

async function main(): Promise<number> {
  let database: Database | undefined;
  try {
    const t = target();
    const tags = journal();
    database = await createDatabase({ url: t.url, dataDir: t.dataDir, maxConnections: 1 });
    const before = new Set(await applied(database));
    const started = performance.now();
    await runMigrations(database);
    const after = await applied(database);
    const ms = Math.round(performance.now() - started);
    const fresh = after.filter((when) => !before.has(when)).map((when) => tags.get(when) ?? String(when));
    if (fresh.length === 0) {
      const latest = tags.get(after[after.length - 1] ?? -1) ?? 'none';
      console.log(`${t.label}: up to date (${after.length} migration${after.length === 1 ? '' : 's'} applied, latest ${latest})`);
    } else {
      console.log(
        `${t.label}: applied ${fresh.length} migration${fresh.length === 1 ? '' : 's'} in ${ms} ms: ${fresh.join(', ')}`,
      );
    }
    return 0;
  } catch (err) {
    console.error(`db:migrate failed: ${oneLine(err)}`);
    return 1;
  } finally {
    await database?.close().catch(() => {});
  }
}


void main().then((code) => process.exit(code));
