import path from 'node:path';
import type { Database } from './client.js';

/** drizzle-kit's output folder, resolved from the project root whether we run from src/ or dist/. */
export const MIGRATIONS_FOLDER = path.resolve(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'drizzle');

/** Applies pending drizzle-kit migrations; safe to run on every start (applied ones are recorded). */
export async function runMigrations(database: Database): Promise<void> {
  if (database.driver === 'postgres') {
    const { migrate } = await import('drizzle-orm/postgres-js/migrator');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await migrate(database.db as any, { migrationsFolder: MIGRATIONS_FOLDER });
  } else {
    const { migrate } = await import('drizzle-orm/pglite/migrator');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await migrate(database.db as any, { migrationsFolder: MIGRATIONS_FOLDER });
  }
}
