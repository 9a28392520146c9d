// Client caches normalize by `__typename:id`: every object type a client may cache has a stable
// id, and Apollo Client's InMemoryCache, with no configuration, shows a hospital's new stock after
// `adjustInventory` without refetching. Apollo Client talks to a real instance over HTTP here; the
// browser test (test/e2e/apollo-client.test.ts) does the same from another origin.
import { ApolloClient, HttpLink, InMemoryCache, gql as tag } from '@apollo/client';
import { isObjectType } from 'graphql';
import { buildSchema } from '../../src/graphql/schema.js';
import { startInstance, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

/** Not entities: they live inside the field that returned them (a page, a sign-in answer). */
const EMBEDDED = /^(Query|Mutation|Subscription|PageInfo|AuthPayload|\w+Connection|\w+Edge)$/;

test('every object type a client may cache has an id: ID!', () => {
  const schema = buildSchema();
  const missing = Object.values(schema.getTypeMap())
    .filter((t) => isObjectType(t) && !t.name.startsWith('__') && !EMBEDDED.test(t.name))
    .filter((t) => isObjectType(t) && String(t.getFields().id?.type) !== 'ID!')
    .map((t) => t.name);
  expect(missing).toEqual([]);
});

describe('against a server', () => {
  const db = useSeededDatabase();
  let server: Instance;
  let staff: string;
  beforeAll(async () => {
    server = await startInstance({ databaseUrl: db().url });
    ({ staff } = await demoTokens(server.url));
  }, 60_000);

  test('ids are stable: the same item has the same id from every field that returns it', async () => {
    const { hospitals } = expectNoErrors(await gql(server.url, '{ hospitals { id inventory { id bloodGroup units } } }'));
    const hospital = hospitals.find((h: { inventory: unknown[] }) => h.inventory.length > 0);
    const item = hospital.inventory[0];
    expect(item.id).toBe(`${hospital.id}:${item.bloodGroup}`);
    const { availability } = expectNoErrors(await gql(server.url, 'query($g: BloodGroup!) { availability(bloodGroup: $g) { id hospital { id } } }', { g: item.bloodGroup }));
    expect(availability.find((a: { hospital: { id: string } }) => a.hospital.id === hospital.id).id).toBe(item.id);
    const { dashboardStats } = expectNoErrors(await gql(server.url, '{ dashboardStats { id inventory { id bloodGroup } } }'));
    expect(dashboardStats.id).toBe('network');
    expect(dashboardStats.inventory[0].id).toBe(`network:${dashboardStats.inventory[0].bloodGroup}`);
  });

  test("Apollo Client's default InMemoryCache shows the new units after adjustInventory, without refetching", async () => {
    let requests = 0;
    const client = new ApolloClient({
      cache: new InMemoryCache(),
      link: new HttpLink({
        uri: server.graphqlUrl,
        headers: { authorization: `Bearer ${staff}` },
        fetch: (input, init) => {
          requests++;
          return fetch(input, init);
        },
      }),
    });
    const HOSPITAL = tag`query Hospital($id: ID!) { hospital(id: $id) { id name inventory { id bloodGroup units } } }`;
    const { hospitals } = expectNoErrors(await gql(server.url, '{ hospitals { id inventory { bloodGroup } } }'));
    const hospital = hospitals.find((h: { inventory: unknown[] }) => h.inventory.length > 0);
    const first = await client.query<{ hospital: { inventory: { bloodGroup: string; units: number }[] } }>({ query: HOSPITAL, variables: { id: hospital.id } });
    const before = first.data!.hospital.inventory[0]!;
    await client.mutate({
      mutation: tag`mutation Adjust($h: ID!, $g: BloodGroup!) { adjustInventory(hospitalId: $h, bloodGroup: $g, delta: 1) { id units } }`,
      variables: { h: hospital.id, g: before.bloodGroup },
    });
    const sent = requests;
    const after = await client.query<typeof first.data>({ query: HOSPITAL, variables: { id: hospital.id }, fetchPolicy: 'cache-only' });
    expect(requests).toBe(sent); // from the cache
    expect(after.data!.hospital.inventory.find((i) => i.bloodGroup === before.bloodGroup)!.units).toBe(before.units + 1);
    client.stop();
  });
});
