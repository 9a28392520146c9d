// A small frontend as a developer would write it: Apollo Client (default InMemoryCache, no type
// policies) over HTTP, graphql-ws for subscriptions, the bearer token from sign-in on both. The
// browser test (../apollo-client.test.ts) serves it from a second origin and drives it through
// `globalThis.lifeline`. Bundled by esbuild for the browser; the API's URL comes as ?api=...
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';

// This project's TypeScript lib has no DOM: the few browser globals used, typed here.
declare const location: { search: string; origin: string };

const api = new URLSearchParams(location.search).get('api')!;
let token: string | null = null;
let httpRequests = 0;

const http = new HttpLink({
  uri: `${api}/graphql`,
  fetch: (input, init) => {
    httpRequests++;
    return fetch(input, init);
  },
});
const auth = new SetContextLink((prev) => ({ headers: { ...prev.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } }));
const ws = new GraphQLWsLink(createClient({ url: `${api.replace(/^http/, 'ws')}/graphql`, connectionParams: () => (token ? { authorization: `Bearer ${token}` } : {}) }));
const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: ApolloLink.split(
    ({ query }) => {
      const d = getMainDefinition(query);
      return d.kind === 'OperationDefinition' && d.operation === 'subscription';
    },
    ws,
    auth.concat(http),
  ),
});

const LOGIN = gql`mutation SignIn($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;
const HOSPITAL = gql`query HospitalInventory($id: ID!) { hospital(id: $id) { id name inventory { id bloodGroup units } } }`;
const ADJUST = gql`mutation Adjust($hospitalId: ID!, $bloodGroup: BloodGroup!, $delta: Int!) {
  adjustInventory(hospitalId: $hospitalId, bloodGroup: $bloodGroup, delta: $delta) { id units updatedAt }
}`;
const INVENTORY_CHANGED = gql`subscription Stock($bloodGroup: BloodGroup) { inventoryChanged(bloodGroup: $bloodGroup) { id units hospital { id } } }`;

type Item = { id: string; bloodGroup: string; units: number };
type HospitalData = { hospital: { id: string; name: string; inventory: Item[] } | null };

const events: { id: string; units: number }[] = [];
const errors: string[] = [];

(globalThis as Record<string, unknown>).lifeline = {
  origin: location.origin,
  api,
  httpRequests: () => httpRequests,
  events,
  errors,
  async signIn(email: string, password: string) {
    const { data } = await client.mutate<{ login: { accessToken: string } }>({ mutation: LOGIN, variables: { email, password } });
    token = data!.login.accessToken;
    return true;
  },
  async inventory(id: string): Promise<Item[]> {
    const { data } = await client.query<HospitalData>({ query: HOSPITAL, variables: { id }, fetchPolicy: 'network-only' });
    return data!.hospital!.inventory;
  },
  /** What the cache shows for the hospital now: no request. */
  cachedInventory(id: string): Item[] | null {
    return client.readQuery<HospitalData>({ query: HOSPITAL, variables: { id } })?.hospital?.inventory ?? null;
  },
  async adjust(hospitalId: string, bloodGroup: string, delta: number) {
    const { data } = await client.mutate<{ adjustInventory: { id: string; units: number } }>({ mutation: ADJUST, variables: { hospitalId, bloodGroup, delta } });
    return data!.adjustInventory;
  },
  subscribe(bloodGroup: string) {
    client.subscribe<{ inventoryChanged: { id: string; units: number } }>({ query: INVENTORY_CHANGED, variables: { bloodGroup } }).subscribe({
      next: (r) => {
        if (r.data) events.push(r.data.inventoryChanged);
        if (r.error) errors.push(String(r.error));
      },
      error: (e: unknown) => errors.push(String(e)),
    });
    return true;
  },
};
