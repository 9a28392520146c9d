// Event delivery latency of live subscriptions: mutation acknowledgement → receipt, for many
// subscribers spread over two server instances sharing Redis (README, "Subscriptions").
//
//   npx tsx bench/fanout.ts [--subscribers 1000] [--events 100] [--instances 2] [--warmup 10]
//
// Starts PostgreSQL and Redis like the test harness does (or uses DATABASE_URL / REDIS_URL),
// seeds a small database, and runs each instance in its OWN child process (`tsx src/main.ts`,
// NODE_ENV=production) so that the clients, all in this process, never share a server's event
// loop. The subscribers (real graphql-ws clients over `ws`) are spread evenly over the instances
// and all subscribe to `inventoryChanged(bloodGroup: O_POS) { units hospital { name } }`.
//
// Then, one at a time, `adjustInventory(+1)` on one entity, alternating instances; for each
// write we record when its HTTP response arrived (the ack) and when each subscriber received
// the event (matched by the new `units`), and wait for all of them before the next write, so
// the figures are latencies, not queueing behind a backlog. Reported per write and subscriber:
//   ack → receipt    receipt time minus ack time (negative: the event beat the response;
//                    the server publishes before it answers)
//   send → receipt   from sending the mutation: the end-to-end figure a dashboard sees
//   last receipt     per write, when the LAST of all subscribers had it (after the ack)
// Receipt times include this process's own work of reading 1,000 sockets; on a small machine
// the servers, PostgreSQL, Redis and the clients share the same cores (see the CPU note).
//
// Prints a table and writes bench/results/fanout.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createSeededDatabase } from '../test/helpers/fixtures.js';
import { uniqueCachePrefix } from '../test/helpers/redis.js';
import globalSetup, { stopServers } from '../test/setup/global-setup.js';

const root = path.resolve(__dirname, '..');
const args = parseArgs(process.argv.slice(2));
const SUBSCRIBERS = args.subscribers ?? 1000;
const EVENTS = args.events ?? 100;
const INSTANCES = args.instances ?? 2;
const WARMUP = args.warmup ?? 10;
const JWT_SECRET = 'lifeline-bench-jwt-secret-0123456789abcdef';
const QUERY = 'subscription { inventoryChanged(bloodGroup: O_POS) { units hospital { name } } }';

interface Server {
  child: ChildProcess;
  url: string;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+/.exec(output);
      if (m) resolve(m[0]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${output}`)));
  });
  return { child, url };
}

async function gql(url: string, query: string, token?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: Record<string, unknown>; errors?: unknown };
  if (body.errors || !body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const summary = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p99: r(percentile(s, 99)), max: r(s.at(-1)!) };
};

async function main() {
  const startedAt = new Date();
  await globalSetup();
  const servers: Server[] = [];
  const clients: Client[] = [];
  try {
    const db = await createSeededDatabase({ donors: 200, hospitals: 8, donations: 200, campaigns: 2, requests: 10, seed: 5 });
    const env = {
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      REDIS_URL: process.env.TEST_REDIS_URL!,
      CACHE_PREFIX: uniqueCachePrefix(),
      JWT_SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    };
    servers.push(...(await Promise.all(Array.from({ length: INSTANCES }, () => startServer(env)))));
    const token = ((await gql(servers[0]!.url, 'mutation { login(email: "staff@lifeline.example", password: "staff-password") { accessToken } }')).login as {
      accessToken: string;
    }).accessToken;

    // units → per-subscriber receipt times (performance.now()).
    const receipts = new Map<number, number[]>();
    const instanceOf: number[] = [];
    let onReceipt: (() => void) | null = null;
    const subscribedAt = performance.now();
    for (let i = 0; i < SUBSCRIBERS; i += 100) {
      const batch = Array.from({ length: Math.min(100, SUBSCRIBERS - i) }, (_, j) => {
        const index = i + j;
        const instance = index % INSTANCES;
        instanceOf[index] = instance;
        const client = createClient({ url: `${servers[instance]!.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
        clients.push(client);
        client.subscribe<{ inventoryChanged: { units: number } }>(
          { query: QUERY },
          {
            next: ({ data }) => {
              const at = performance.now();
              const units = data!.inventoryChanged.units;
              let times = receipts.get(units);
              if (!times) receipts.set(units, (times = new Array(SUBSCRIBERS).fill(NaN)));
              times[index] = at;
              onReceipt?.();
            },
            error: (err) => console.error('subscription error', err),
            complete: () => {},
          },
        );
        return new Promise<void>((resolve) => client.on('connected', () => resolve()));
      });
      await Promise.all(batch);
    }
    const connectMs = performance.now() - subscribedAt;

    const write = async (k: number) => {
      const url = servers[k % INSTANCES]!.url;
      const sent = performance.now();
      const data = await gql(url, 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_POS, delta: 1) { units } }', token);
      const acked = performance.now();
      const units = (data.adjustInventory as { units: number }).units;
      // Every subscriber has it: then the next write.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`write ${k}: not every subscriber received units=${units} within 30 s`)), 30_000);
        const check = () => {
          const times = receipts.get(units);
          if (times && times.every((t) => !Number.isNaN(t))) {
            clearTimeout(timer);
            onReceipt = null;
            resolve();
          }
        };
        onReceipt = check;
        check();
      });
      return { sent, acked, times: receipts.get(units)! };
    };

    // Warm-up: also proves every subscription is live before measuring.
    for (let k = 0; k < WARMUP; k++) await write(k);
    const cpuStart = os.cpus().map((c) => c.times);
    const ackToReceipt: number[] = [];
    const sendToReceipt: number[] = [];
    const lastAfterAck: number[] = [];
    const ackMs: number[] = [];
    const perInstance: number[][] = Array.from({ length: INSTANCES }, () => []);
    for (let k = 0; k < EVENTS; k++) {
      const { sent, acked, times } = await write(k);
      ackMs.push(acked - sent);
      times.forEach((t, i) => {
        ackToReceipt.push(t - acked);
        sendToReceipt.push(t - sent);
        perInstance[instanceOf[i]!]!.push(t - acked);
      });
      lastAfterAck.push(Math.max(...times) - acked);
    }
    const cpuEnd = os.cpus().map((c) => c.times);
    const busy = cpuEnd.reduce((sum, t, i) => {
      const s = cpuStart[i]!;
      const total = t.user + t.nice + t.sys + t.idle + t.irq - (s.user + s.nice + s.sys + s.idle + s.irq);
      return sum + (total - (t.idle - s.idle)) / total;
    }, 0) / cpuEnd.length;

    const result = {
      benchmark: 'fanout',
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      options: { subscribers: SUBSCRIBERS, events: EVENTS, instances: INSTANCES, warmup: WARMUP },
      subscription: QUERY,
      connectAndSubscribeMs: Math.round(connectMs),
      mutationAckMs: summary(ackMs),
      ackToReceiptMs: summary(ackToReceipt),
      sendToReceiptMs: summary(sendToReceipt),
      lastSubscriberAfterAckMs: summary(lastAfterAck),
      ackToReceiptMsPerInstance: perInstance.map(summary),
      machine: { nproc: os.cpus().length, cpuModel: os.cpus()[0]?.model, averageCpuBusy: Math.round(busy * 100) / 100, node: process.version },
    };
    const row = (name: string, s: ReturnType<typeof summary>) => `| ${name} | ${s.n} | ${s.p50} | ${s.p90} | ${s.p99} | ${s.max} |`;
    console.log(`\n${SUBSCRIBERS} subscribers over ${INSTANCES} instances, ${EVENTS} writes (after ${WARMUP} warm-up); connected in ${result.connectAndSubscribeMs} ms\n`);
    console.log('| ms | samples | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|');
    console.log(row('mutation ack (HTTP round trip)', result.mutationAckMs));
    console.log(row('ack → receipt', result.ackToReceiptMs));
    console.log(row('send → receipt', result.sendToReceiptMs));
    console.log(row('last subscriber after ack', result.lastSubscriberAfterAckMs));
    result.ackToReceiptMsPerInstance.forEach((s, i) => console.log(row(`ack → receipt, instance ${i + 1}`, s)));
    console.log(`\nCPU busy on average while measuring: ${Math.round(busy * 100)}% of ${os.cpus().length} cores (servers, clients, PostgreSQL and Redis share them)`);
    mkdirSync(path.join(root, 'bench/results'), { recursive: true });
    writeFileSync(path.join(root, 'bench/results/fanout.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.allSettled(clients.map((c) => c.dispose()));
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))));
    await stopServers();
  }
}

function parseArgs(argv: string[]): Partial<Record<'subscribers' | 'events' | 'instances' | 'warmup', number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!.replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!['subscribers', 'events', 'instances', 'warmup'].includes(name) || !Number.isInteger(value) || value < 1) {
      console.error(`usage: npx tsx bench/fanout.ts [--subscribers 1000] [--events 100] [--instances 2] [--warmup 10] (bad: ${argv[i]} ${argv[i + 1]})`);
      process.exit(2);
    }
    out[name] = value;
  }
  return out;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
