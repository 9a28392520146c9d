// A fingerprint of every table: "the database is unchanged" means equal digests.
import postgres from 'postgres';

const TABLES = ['users', 'donors', 'hospitals', 'inventory', 'blood_requests', 'campaigns', 'donations'];

export async function databaseDigest(url: string): Promise<Record<string, string>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const out: Record<string, string> = {};
    for (const table of TABLES) {
      const [row] = await sql.unsafe(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS h FROM ${table} t`);
      out[table] = `${row!.n}:${row!.h}`;
    }
    return out;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Runs one SQL query against a test database (for assertions the API does not expose). */
export async function query<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return (await sql.unsafe(text, params as never[])) as unknown as T[];
  } finally {
    await sql.end({ timeout: 5 });
  }
}
