// README's configuration table against src/config.ts: the same variables, and the defaults the
// table states are the ones loadConfig applies. A variable added to (or dropped from) the
// environment schema without the README, or the other way round, fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { firstTable, readme, ROOT, section } from './readme.js';

const CONFIG_TS = path.join(ROOT, 'src', 'config.ts');

interface Row {
  /** The default cell. */
  def: string;
  /** The meaning cell starts with **planned**: the server does not read the variable yet. */
  planned: boolean;
}

/** README rows: variable name → default cell, and whether the row is marked planned. */
function readmeTable(): Map<string, Row> {
  const rows = firstTable(section(readme(), '## Configuration'));
  const table = new Map<string, Row>();
  for (const [name, def, meaning] of rows) {
    const m = /^`([A-Z][A-Z0-9_]*)`$/.exec(name ?? '');
    if (!m) throw new Error(`README configuration row does not start with a \`VARIABLE\`: ${JSON.stringify(name)}`);
    if (table.has(m[1]!)) throw new Error(`README configuration table lists ${m[1]} twice`);
    table.set(m[1]!, { def: def ?? '', planned: /^\*\*planned\*\*/i.test(meaning ?? '') });
  }
  return table;
}

/**
 * What src/config.ts reads from the environment: the keys of the zod object it parses the
 * environment with (`const envSchema = z.object({ NAME: ..., })`), plus any direct
 * `env.NAME` / `env['NAME']` access. loadConfig passes the whole environment through that
 * schema, so these are exactly the variables it can see.
 */
function configVariables(): Set<string> {
  const source = readFileSync(CONFIG_TS, 'utf8');
  const start = source.indexOf('const envSchema = z.object({');
  if (start < 0) throw new Error('src/config.ts: no `const envSchema = z.object({` (the test reads the variables from it; update the test if config.ts changed shape)');
  const end = source.indexOf('\n});', start);
  const block = source.slice(start, end);
  const names = new Set([...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*)\s*:/gm)].map((m) => m[1]!));
  for (const m of source.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\])/g)) names.add((m[1] ?? m[2])!);
  // Parsed values are read as `e.NAME`: each must be a schema key (a typo here would be a bug in config.ts).
  for (const m of source.matchAll(/\be\.([A-Z][A-Z0-9_]*)/g)) {
    if (!names.has(m[1]!)) throw new Error(`src/config.ts reads e.${m[1]} but the schema has no ${m[1]}`);
  }
  return names;
}

const camel = (name: string) => name.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

test('the README configuration table lists exactly the variables src/config.ts reads, plus the ones marked planned', () => {
  const table = readmeTable();
  const documented = [...table.keys()].filter((n) => !table.get(n)!.planned).sort();
  const planned = [...table.keys()].filter((n) => table.get(n)!.planned).sort();
  const read = [...configVariables()].sort();
  expect(read.length).toBeGreaterThan(10);
  expect({
    inReadmeNotRead: documented.filter((n) => !read.includes(n)),
    readNotInReadme: read.filter((n) => !table.has(n)),
    // A planned variable that src/config.ts now reads: drop "**planned**:" from its row (and check its default).
    plannedButRead: planned.filter((n) => read.includes(n)),
  }).toEqual({ inReadmeNotRead: [], readNotInReadme: [], plannedButRead: [] });
});

test('every default the table states is the one loadConfig applies to an empty environment', () => {
  const defaults = loadConfig({});
  let checked = 0;
  for (const [name, { def: cell, planned }] of readmeTable()) {
    if (planned) continue; // not read yet: no default to compare
    const field = camel(name) as keyof Config;
    if (cell.startsWith('unset')) {
      // "unset: ..." documents what happens without the variable; the value stays unset.
      expect({ name, value: defaults[field] }).toEqual({ name, value: undefined });
      checked++;
      continue;
    }
    const literal = /^`([^`]*)`/.exec(cell)?.[1];
    if (literal === undefined) continue; // prose, e.g. JWT_SECRET's "random per process"
    expect({ name, field, known: field in defaults }).toEqual({ name, field, known: true });
    const actual = defaults[field];
    const expected =
      typeof actual === 'number' ? Number(literal.replace(/,/g, '')) : typeof actual === 'boolean' ? literal === '1' || literal === 'true' : literal;
    expect({ name, default: actual }).toEqual({ name, default: expected });
    checked++;
  }
  expect(checked).toBeGreaterThan(15);
});
