import { defineConfig } from 'drizzle-kit';

// drizzle-kit only generates SQL from src/db/schema.ts; it never needs a live database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
