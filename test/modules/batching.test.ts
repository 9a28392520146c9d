// SPEC §6.1: one SQL statement per (loader, nesting level), counted as statements
// actually sent to PostgreSQL by the driver.
import { startInstance, type Instance } from '../helpers/app.js';
import { useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

const db = useSeededDatabase({ donors: 120, hospitals: 10, donations: 900, campaigns: 6, requests: 20, seed: 3 });
let instance: Instance;

beforeAll(async () => {
  instance = await startInstance({ databaseUrl: db().url });
});

async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const off = instance.app.database.onStatement((s) => statements.push(s));
  try {
    return { result: await fn(), statements };
  } finally {
    off();
  }
}

const NESTED = `{ donors(first: 50) { nodes { id donations(first: 5) { nodes { id hospital { name } } } } } }`;

test('the nested donors → donations → hospital query costs 3 statements', async () => {
  const { result, statements } = await countStatements(() => gql(instance.url, NESTED));
  const data = expectNoErrors(result);
  expect(data.donors.nodes).toHaveLength(50);
  const withDonations = data.donors.nodes.filter((d: { donations: { nodes: unknown[] } }) => d.donations.nodes.length > 0);
  expect(withDonations.length).toBeGreaterThan(10);
  for (const d of data.donors.nodes) expect(d.donations.nodes.length).toBeLessThanOrEqual(5);
  expect(statements).toHaveLength(3);
});

test('per-parent pages are correct: each donor gets its own newest 5 donations', async () => {
  const data = expectNoErrors(await gql(instance.url, NESTED));
  for (const donor of data.donors.nodes.slice(0, 10)) {
    const single = expectNoErrors(
      await gql(instance.url, 'query($id: ID!) { donor(id: $id) { donations(first: 5) { nodes { id } } } }', { id: donor.id }),
    );
    expect(donor.donations.nodes.map((n: { id: string }) => n.id)).toEqual(
      single.donor.donations.nodes.map((n: { id: string }) => n.id),
    );
  }
});

test('more nesting adds one statement per level, not per parent', async () => {
  const query = `{ donors(first: 30) { nodes { donations(first: 3) { totalCount nodes { hospital { name inventory { units } } campaign { title } } } } } }`;
  const { result, statements } = await countStatements(() => gql(instance.url, query));
  expectNoErrors(result);
  // donors, donation pages, donation counts, hospitals, campaigns, inventory
  expect(statements.length).toBeLessThanOrEqual(6);
});

test('a page of donations follows its cursor without overlap', async () => {
  const first = expectNoErrors(
    await gql(instance.url, '{ donors(first: 1) { nodes { id donations(first: 2) { totalCount pageInfo { endCursor hasNextPage } nodes { id } } } } }'),
  );
  const donor = first.donors.nodes[0];
  if (!donor.donations.pageInfo.hasNextPage) return expect(donor.donations.totalCount).toBeLessThanOrEqual(2);
  const next = expectNoErrors(
    await gql(instance.url, 'query($id: ID!, $after: String) { donor(id: $id) { donations(first: 2, after: $after) { pageInfo { hasPreviousPage } nodes { id } } } }', {
      id: donor.id,
      after: donor.donations.pageInfo.endCursor,
    }),
  );
  const firstIds = donor.donations.nodes.map((n: { id: string }) => Number(n.id));
  const nextIds = next.donor.donations.nodes.map((n: { id: string }) => Number(n.id));
  expect(next.donor.donations.pageInfo.hasPreviousPage).toBe(true);
  for (const id of nextIds) expect(id).toBeLessThan(Math.min(...firstIds));
});
