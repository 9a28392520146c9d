// A seeded, migrated database per test file, plus tokens for the demo accounts.
import { createDatabase } from '../../src/db/client.js';
import { DEMO_ACCOUNTS, seedDatabase, type SeedOptions } from '../../src/db/seed.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { expectNoErrors, gql } from './graphql.js';

/** Small enough to seed in well under a second, big enough for pages and filters. */
export const SMALL_SEED: SeedOptions = { donors: 60, hospitals: 8, donations: 300, campaigns: 8, requests: 30, seed: 7 };

export async function createSeededDatabase(options: SeedOptions = SMALL_SEED): Promise<TestDatabase> {
  const testDb = await createTestDatabase();
  const database = await createDatabase({ url: testDb.url, maxConnections: 2 });
  try {
    await seedDatabase(database.db, options);
  } finally {
    await database.close();
  }
  return testDb;
}

/** beforeAll/afterAll wrapper; the getter works inside tests and hooks. */
export function useSeededDatabase(options?: SeedOptions): () => TestDatabase {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createSeededDatabase(options);
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });
  return () => {
    if (!db) throw new Error('useSeededDatabase(): use the getter inside a test or hook');
    return db;
  };
}

export type DemoRole = keyof typeof DEMO_ACCOUNTS;

export async function login(url: string, who: DemoRole): Promise<{ accessToken: string; refreshToken: string }> {
  const { email, password } = DEMO_ACCOUNTS[who];
  const data = expectNoErrors(
    await gql(url, 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }', {
      e: email,
      p: password,
    }),
  );
  return data.login;
}

/** Logs every demo account in once. */
export async function demoTokens(url: string): Promise<Record<DemoRole, string>> {
  const [staff, admin, donor] = await Promise.all([login(url, 'staff'), login(url, 'admin'), login(url, 'donor')]);
  return { staff: staff.accessToken, admin: admin.accessToken, donor: donor.accessToken };
}
