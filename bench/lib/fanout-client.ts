// One of the `fanout` scenario's subscriber processes (bench/lib/fanout.ts starts two, so no
// single client event loop has to read all 2,000 sockets): real graphql-ws clients over `ws`,
// alternating between the instances, all on the same subscription. For every `units` value it
// reports, once ALL its subscribers have it, when each one received it (epoch ms, high
// resolution: performance.timeOrigin + performance.now(), comparable across processes).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { childLifetime, toParent } from './child.js';

export interface FanoutStart {
  type: 'start';
  urls: string[];
  count: number;
  query: string;
}

export type FanoutClientMessage =
  | { type: 'connected'; connectMs: number }
  | { type: 'got'; units: number; times: number[]; instanceOf: number[] }
  | { type: 'loop'; delayP99Ms: number; delayMaxMs: number; utilization: number }
  | { type: 'error'; message: string };

const now = () => performance.timeOrigin + performance.now();
const clients: Client[] = [];

async function start(msg: FanoutStart): Promise<void> {
  const receipts = new Map<number, { times: number[]; left: number }>();
  const instanceOf = Array.from({ length: msg.count }, (_, i) => i % msg.urls.length);
  const started = now();
  for (let i = 0; i < msg.count; i += 100) {
    const batch = Array.from({ length: Math.min(100, msg.count - i) }, (_, j) => {
      const index = i + j;
      const client = createClient({ url: msg.urls[instanceOf[index]!]!, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
      clients.push(client);
      client.subscribe<{ inventoryChanged: { units: number } }>(
        { query: msg.query },
        {
          next: ({ data }) => {
            const at = now();
            const units = data!.inventoryChanged.units;
            let r = receipts.get(units);
            if (!r) receipts.set(units, (r = { times: new Array<number>(msg.count).fill(NaN), left: msg.count }));
            if (Number.isNaN(r.times[index]!)) {
              r.times[index] = at;
              if (--r.left === 0) {
                receipts.delete(units);
                toParent({ type: 'got', units, times: r.times, instanceOf });
              }
            }
          },
          error: (err) => toParent({ type: 'error', message: `subscription error: ${err instanceof Error ? err.message : JSON.stringify(err)}` }),
          complete: () => {},
        },
      );
      return new Promise<void>((resolve, reject) => {
        client.on('connected', () => resolve());
        client.on('closed', (e) => reject(new Error(`socket closed before connecting: ${(e as { code?: number }).code}`)));
      });
    });
    await Promise.all(batch);
  }
  toParent({ type: 'connected', connectMs: now() - started });
}

if (require.main === module) {
  childLifetime(() => {
    for (const c of clients) void c.dispose();
  });
  // This process's own event-loop delay: how late it was to read the sockets.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let elu = performance.eventLoopUtilization();
  process.on('message', (msg: FanoutStart | { type: 'loop-reset' } | { type: 'loop-report' }) => {
    if (msg.type === 'start') {
      start(msg).catch((err: unknown) => toParent({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
    } else if (msg.type === 'loop-reset') {
      loop.reset();
      loop.enable();
      elu = performance.eventLoopUtilization();
    } else {
      loop.disable();
      toParent({
        type: 'loop',
        delayP99Ms: loop.percentile(99) / 1e6,
        delayMaxMs: loop.max / 1e6,
        utilization: performance.eventLoopUtilization(elu).utilization,
      });
    }
  });
}
