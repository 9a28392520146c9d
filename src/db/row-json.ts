// A table's row that travelled as JSON (`to_jsonb(row)` in a statement, a change stored in the
// outbox) back in the shape a drizzle select of that table gives. Generic: each column's own
// driver mapping (timestamps to Date, integers to number, ...) from the table's metadata, so a
// new column or table needs no code here.
import { getTableColumns, type Column, type InferSelectModel, type Table } from 'drizzle-orm';

export type JsonRow = Record<string, unknown>;

/** postgres.js and PGlite parse json columns; a driver that does not hands over the text. */
export const parseJson = <T>(value: unknown): T => (typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));

/**
 * Columns are read under their SQL names and mapped to their TypeScript keys; keys that are not
 * columns of the table (values a statement joined in, such as a hospital's region) are kept as
 * they are; columns absent from the JSON (withheld) stay absent.
 */
export function decodeRow<T extends Table>(table: T, json: JsonRow): InferSelectModel<T> {
  const out: JsonRow = {};
  const { columns, names } = columnsOf(table);
  for (const [key, column] of columns) {
    if (!(column.name in json)) continue;
    const value = json[column.name];
    out[key] = value === null ? null : column.mapFromDriverValue(value);
  }
  for (const [key, value] of Object.entries(json)) if (!names.has(key)) out[key] = value;
  return out as InferSelectModel<T>;
}

// Every write and every relay round decodes rows: a table's columns are looked up once.
const tableColumns = new WeakMap<Table, { columns: [string, Column][]; names: Set<string> }>();
function columnsOf(table: Table): { columns: [string, Column][]; names: Set<string> } {
  let known = tableColumns.get(table);
  if (!known) {
    const columns = Object.entries(getTableColumns(table));
    tableColumns.set(table, (known = { columns, names: new Set(columns.map(([, c]) => c.name)) }));
  }
  return known;
}

/** SQL names of a table's columns, by TypeScript key. */
export function columnNames(table: Table, keys: readonly string[]): string[] {
  const columns = getTableColumns(table);
  return keys.map((k) => {
    const column = columns[k];
    if (!column) throw new TypeError(`${k} is not a column`);
    return column.name;
  });
}
