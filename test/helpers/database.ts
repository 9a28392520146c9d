// A clean, migrated database per test file: a copy of the template globalSetup built.
// Copying a template is a file copy on the server, far cheaper than re-running migrations.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { TEMPLATE_DATABASE, databaseUrl, delay } from '../setup/global-setup.js';

export interface TestDatabase {
  name: string;
  /** postgres:// URL of this database (pass as DATABASE_URL). */
  url: string;
  /** Terminates its connections and drops it. Idempotent. */
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env.TEST_PG_ADMIN_URL;
  if (!url) throw new Error('TEST_PG_ADMIN_URL is unset: run tests through jest (globalSetup sets it)');
  return url;
}

/** Runs one statement on the admin database over a single short-lived connection. */
async function admin(statement: string): Promise<void> {
  const sql = postgres(adminUrl(), { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `lifeline_t_${randomBytes(6).toString('hex')}`;
  // 55006 "source database is being accessed by other users": only while someone is connected to
  // the template (another run rebuilding it on a shared server). Retry briefly, then give up.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await admin(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== '55006' || Date.now() > deadline) throw err;
      await delay(100);
    }
  }
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: databaseUrl(adminUrl(), name),
    // WITH (FORCE) terminates the app's pooled connections first (PostgreSQL 13+).
    drop: () => (dropped ??= admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}

/**
 * Creates a database in beforeAll and drops it in afterAll; returns a getter for use inside
 * tests and hooks (the database does not exist yet while the file is being collected).
 */
export function useTestDatabase(): () => TestDatabase {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  return () => {
    if (!database) throw new Error('useTestDatabase(): call the getter inside a test or hook, not at collection time');
    return database;
  };
}
