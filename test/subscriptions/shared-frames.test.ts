// A fan-out serializes each event once per shared execution, not once per subscriber: on two
// instances sharing Redis, every subscriber gets a graphql-ws `next` message with its own id
// and, within a group (same operation, variables and viewer), byte-for-byte the same payload;
// /metrics counts one serialization per event per group and one frame per subscriber.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startSharedRedisPair, type Instance } from '../helpers/app.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scrape, sum } from '../helpers/metrics.js';
import { deferred, operationsOpen } from './helpers.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;
let staff: string;
const clients: Client[] = [];

beforeAll(async () => {
  [a, b] = await startSharedRedisPair(db().url);
  staff = (await demoTokens(a.url)).staff;
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.dispose()));
});

const QUERY = 'subscription($g: BloodGroup) { inventoryChanged(bloodGroup: $g) { units bloodGroup hospital { id name } } }';

/** graphql-ws's own client over a socket that also keeps every raw text frame it receives. */
function subscriber(instance: Instance, id: string, token?: string) {
  const frames: string[] = [];
  class RecordingSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('message', (data, isBinary) => {
        if (!isBinary) frames.push(String(data));
      });
    }
  }
  const got = deferred<number>();
  const client = createClient({
    url: instance.wsUrl,
    webSocketImpl: RecordingSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    generateID: () => id,
    retryAttempts: 0,
    lazy: false,
    // The instances close with 1001 when the file ends; that is not this test's failure.
    onNonLazyError: () => {},
  });
  clients.push(client);
  client.subscribe<{ inventoryChanged: { units: number } }>(
    { query: QUERY, variables: { g: 'AB_POS' } },
    { next: (r) => got.resolve(r.data!.inventoryChanged.units), error: (err) => got.reject(err), complete: () => {} },
  );
  return { id, frames, received: got.promise };
}

const framesCount = async (instance: Instance) => {
  const { samples } = await scrape(instance);
  return {
    serialized: sum(samples, 'lifeline_subscription_frames_serialized_total'),
    sent: sum(samples, 'lifeline_subscription_frames_sent_total'),
  };
};

test('each event is serialized once per shared execution; every subscriber gets its own id with the same payload bytes', async () => {
  // Anonymous subscribers on both instances share an execution per instance; staff (another
  // viewer) has one of its own even with the same operation.
  const anonymous = [subscriber(a, 'a-1'), subscriber(a, 'a-2'), subscriber(a, 'a-3'), subscriber(b, 'b-1'), subscriber(b, 'b-2'), subscriber(b, 'b-3')];
  const asStaff = subscriber(a, 'a-staff', staff);
  await Promise.all([operationsOpen(a, 4), operationsOpen(b, 3)]);
  const before = await Promise.all([framesCount(a), framesCount(b)]);

  const units = expectNoErrors(
    await gql(a.url, 'mutation { adjustInventory(hospitalId: "2", bloodGroup: AB_POS, delta: 1) { units } }', undefined, { token: staff }),
  ).adjustInventory.units as number;
  // The client accepted each frame as the next result of its own subscription.
  expect(await Promise.all([...anonymous, asStaff].map((s) => s.received))).toEqual(Array(7).fill(units));

  const nextOf = (s: ReturnType<typeof subscriber>) => {
    const next = s.frames.filter((f) => JSON.parse(f).type === 'next');
    expect(next).toHaveLength(1);
    return next[0]!;
  };
  const payloads = new Set<string>();
  for (const s of [...anonymous, asStaff]) {
    const raw = nextOf(s);
    const message = JSON.parse(raw);
    // A well-formed graphql-ws `next` message, for this client's own id.
    expect(Object.keys(message)).toEqual(['id', 'type', 'payload']);
    expect(message.id).toBe(s.id);
    expect(message.payload.data.inventoryChanged).toMatchObject({ units, bloodGroup: 'AB_POS', hospital: { id: '2' } });
    expect(message.payload.extensions.eventId).toEqual(expect.any(String));
    // Everything after the id: the payload bytes.
    const prefix = `{"id":${JSON.stringify(s.id)},`;
    expect(raw.startsWith(prefix)).toBe(true);
    payloads.add(raw.slice(prefix.length));
  }
  // One event, the same payload bytes for every subscriber (staff's data is the same here).
  expect(payloads.size).toBe(1);

  const after = await Promise.all([framesCount(a), framesCount(b)]);
  // Instance a: the anonymous group and the staff group, 4 sockets; instance b: one group, 3 sockets.
  expect(after.map((n, i) => n.serialized - before[i]!.serialized)).toEqual([2, 1]);
  expect(after.map((n, i) => n.sent - before[i]!.sent)).toEqual([4, 3]);
  await Promise.all(clients.map((c) => c.dispose()));
});
