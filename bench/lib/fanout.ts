// The `fanout` scenario: live subscription delivery over two Lifeline instances
// sharing Redis, and the memory an idle subscription costs.
//
// Two Lifeline child processes (CACHE_MODE=full, one CACHE_PREFIX: one deployment) and two
// subscriber child processes (bench/lib/fanout-client.ts), each holding half the subscribers
// and alternating them over the instances: every instance serves half, and no single client
// event loop reads all the sockets. Everyone subscribes to
// `inventoryChanged(bloodGroup: O_POS) { units hospital { name } }`.
//
// Memory per idle subscription: each instance's heap and RSS (its /metrics, after a forced
// GC) before any client connects and again once all are subscribed and idle, divided by the
// subscriptions it holds (one graphql-ws connection + one subscription each).
//
// Delivery: one write at a time, `adjustInventory(+1)` from this process, alternating the
// instance it goes to; for each write we note when its HTTP answer arrived (the ack) and wait
// until every subscriber has the event (matched by the new `units`) before the next write, so
// the figures are latencies, not queueing behind a backlog:
//   ack → receipt    receipt minus ack (negative: the event beat the response; the server
//                    publishes before it answers)
//   send → receipt   from sending the mutation: what a dashboard sees end to end
//   last receipt     per write, when the LAST subscriber had it (after the ack)
// Where the time goes: the servers' own lifeline_pubsub_delivery_lag_seconds (publication →
// dispatch on that instance, once per event) and CPU per event, and the subscriber processes'
// event-loop utilization and delay while measuring.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEMO_ACCOUNTS } from '../../src/db/seed.js';
import { startIpcChild, type IpcChild } from './child.js';
import type { FanoutClientMessage, FanoutStart } from './fanout-client.js';
import { GqlClient, login, summarize, type Summary } from './http-client.js';
import { memoryAfterGc, perItem, type MemorySample } from './memory.js';
import { logProblems, startLifeline, type RunningServer } from './servers.js';
import { delay, HOST, machineBusySeconds } from './services.js';
import { fmt, kib, ms, type BenchContext, type Target } from './window.js';

export interface FanoutOptions {
  subscribers: number;
  events: number;
  warmupEvents: number;
  clientProcesses: number;
}

export const FANOUT_DEFAULTS: FanoutOptions = { subscribers: 2000, events: 100, warmupEvents: 10, clientProcesses: 2 };
const INSTANCES = 2;
const SUBSCRIPTION = 'subscription { inventoryChanged(bloodGroup: O_POS) { units hospital { name } } }';
const WRITE = 'mutation { adjustInventory(hospitalId: "1", bloodGroup: O_POS, delta: 1) { units } }';
const EVENT_TIMEOUT_MS = 30_000;

export interface FanoutResult {
  options: FanoutOptions;
  subscription: string;
  connectAndSubscribeMs: number;
  mutationAckMs: Summary;
  ackToReceiptMs: Summary;
  sendToReceiptMs: Summary;
  lastSubscriberAfterAckMs: Summary;
  ackToReceiptMsPerInstance: Summary[];
  memoryPerIdleSubscription: { perInstance: (MemorySample & { subscriptions: number })[]; average: MemorySample };
  serverDeliveryLagMeanMs: (number | null)[];
  serverCpuMsPerEvent: (number | null)[];
  clientLoops: { delayP99Ms: number; delayMaxMs: number; utilization: number }[];
  machineBusyCores: number;
  serverLogProblems: { count: number; samples: string[] }[];
}

const now = () => performance.timeOrigin + performance.now();

async function deliveryLag(server: RunningServer): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://${HOST}:${server.port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const read = (suffix: string) => Number(new RegExp(`^lifeline_pubsub_delivery_lag_seconds_${suffix}\\{topic="inventoryChanged"\\} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { sum: read('sum'), count: read('count') };
}

export async function runFanout(ctx: BenchContext, options: FanoutOptions): Promise<{ result: FanoutResult; markdown: string; targets: Target[]; warnings: string[] }> {
  const servers: RunningServer[] = [];
  const clients: IpcChild<FanoutClientMessage>[] = [];
  const logFiles = Array.from({ length: INSTANCES }, (_, i) => path.join(ctx.logDir, `fanout-${i + 1}.log`));
  try {
    for (const logFile of logFiles) fs.writeFileSync(logFile, '');
    servers.push(
      ...(await Promise.all(
        logFiles.map((logFile) =>
          startLifeline({ databaseUrl: ctx.databaseUrl, redisUrl: ctx.redisUrl, cacheMode: 'full', cachePrefix: `bench${ctx.runId}-fanout:`, gcHook: true }, logFile),
        ),
      )),
    );
    const http = servers.map((s) => new GqlClient(s.port, 1));
    const token = await login(http[0]!, DEMO_ACCOUNTS.staff.email, DEMO_ACCOUNTS.staff.password);
    const memoryBefore = await Promise.all(servers.map((s) => memoryAfterGc(s)));

    // Subscribers: spread over the client processes, each alternating over the instances.
    const urls = servers.map((s) => `ws://${HOST}:${s.port}/graphql`);
    const lifetime = 120_000 + options.subscribers * 20 + (options.events + options.warmupEvents) * 2_000;
    const received = new Map<number, { times: number[]; instanceOf: number[] }[]>();
    let clientError: Error | null = null;
    for (let c = 0; c < options.clientProcesses; c++) {
      const count = Math.floor(options.subscribers / options.clientProcesses) + (c < options.subscribers % options.clientProcesses ? 1 : 0);
      const client = startIpcChild<FanoutClientMessage>(path.join(__dirname, 'fanout-client.ts'), [], { name: `fanout-client-${c + 1}`, maxLifetimeMs: lifetime });
      clients.push(client);
      client.on((m) => {
        if (m.type === 'got') {
          let list = received.get(m.units);
          if (!list) received.set(m.units, (list = []));
          list.push({ times: m.times, instanceOf: m.instanceOf });
        } else if (m.type === 'error') {
          clientError ??= new Error(`fanout-client-${c + 1}: ${m.message}`);
        }
      });
      client.send({ type: 'start', urls, count, query: SUBSCRIPTION } satisfies FanoutStart);
    }
    const connectStarted = now();
    const connected = await Promise.all(
      clients.map((c) => c.next((m) => (m.type === 'connected' ? m.connectMs : m.type === 'error' ? new Error(m.message) : undefined), 60_000 + options.subscribers * 30, 'all connected')),
    );
    for (const c of connected) if (c instanceof Error) throw c;
    const connectMs = now() - connectStarted;
    process.stderr.write(`  fanout: ${options.subscribers} subscribers over ${INSTANCES} instances from ${options.clientProcesses} processes, connected in ${Math.round(connectMs)} ms\n`);

    // Idle: let connection set-up garbage and timers settle before the second reading.
    await delay(2_000);
    const memoryAfter = await Promise.all(servers.map((s) => memoryAfterGc(s)));
    const perInstanceSubs = servers.map((_, i) => Math.floor(options.subscribers / INSTANCES) + (i < options.subscribers % INSTANCES ? 1 : 0));
    const perInstance = servers.map((_, i) => ({ ...perItem(memoryBefore[i]!, memoryAfter[i]!, perInstanceSubs[i]!), subscriptions: perInstanceSubs[i]! }));
    const average = perItem(
      { rssBytes: sumOf(memoryBefore, 'rssBytes'), heapUsedBytes: sumOf(memoryBefore, 'heapUsedBytes'), externalBytes: sumOf(memoryBefore, 'externalBytes') },
      { rssBytes: sumOf(memoryAfter, 'rssBytes'), heapUsedBytes: sumOf(memoryAfter, 'heapUsedBytes'), externalBytes: sumOf(memoryAfter, 'externalBytes') },
      options.subscribers,
    );

    const write = async (k: number) => {
      if (clientError) throw clientError;
      const sent = now();
      const data = await http[k % INSTANCES]!.data(WRITE, undefined, token);
      const acked = now();
      const units = (data.adjustInventory as { units: number }).units;
      const deadline = Date.now() + EVENT_TIMEOUT_MS;
      while ((received.get(units)?.length ?? 0) < clients.length) {
        if (clientError) throw clientError;
        if (Date.now() > deadline) throw new Error(`write ${k}: not every subscriber received units=${units} within ${EVENT_TIMEOUT_MS} ms`);
        await delay(1);
      }
      const parts = received.get(units)!;
      received.delete(units);
      return { sent, acked, parts };
    };

    // Warm-up: also proves every subscription is live before measuring.
    for (let k = 0; k < options.warmupEvents; k++) await write(k);
    const lagBefore = await Promise.all(servers.map(deliveryLag));
    const cpuBefore = servers.map((s) => s.cpuSeconds());
    const busyBefore = machineBusySeconds();
    const wallBefore = now();
    for (const c of clients) c.send({ type: 'loop-reset' });
    const ackToReceipt: number[] = [];
    const sendToReceipt: number[] = [];
    const lastAfterAck: number[] = [];
    const ackMs: number[] = [];
    const perInstance2: number[][] = servers.map(() => []);
    for (let k = 0; k < options.events; k++) {
      const { sent, acked, parts } = await write(k);
      ackMs.push(acked - sent);
      let last = -Infinity;
      for (const part of parts) {
        part.times.forEach((t, i) => {
          ackToReceipt.push(t - acked);
          sendToReceipt.push(t - sent);
          perInstance2[part.instanceOf[i]!]!.push(t - acked);
          if (t > last) last = t;
        });
      }
      lastAfterAck.push(last - acked);
    }
    const loops = await Promise.all(
      clients.map((c) => {
        const reply = c.next((m) => (m.type === 'loop' ? m : undefined), 10_000, 'event-loop report');
        c.send({ type: 'loop-report' });
        return reply;
      }),
    );
    const wall = (now() - wallBefore) / 1000;
    const busy = (machineBusySeconds() - busyBefore) / wall;
    const cpuAfter = servers.map((s) => s.cpuSeconds());
    const lagAfter = await Promise.all(servers.map(deliveryLag));

    const result: FanoutResult = {
      options,
      subscription: SUBSCRIPTION,
      connectAndSubscribeMs: Math.round(connectMs),
      mutationAckMs: summarize(ackMs),
      ackToReceiptMs: summarize(ackToReceipt),
      sendToReceiptMs: summarize(sendToReceipt),
      lastSubscriberAfterAckMs: summarize(lastAfterAck),
      ackToReceiptMsPerInstance: perInstance2.map((v) => summarize(v)),
      memoryPerIdleSubscription: { perInstance, average },
      serverDeliveryLagMeanMs: servers.map((_, i) => {
        const n = lagAfter[i]!.count - lagBefore[i]!.count;
        return n > 0 ? ((lagAfter[i]!.sum - lagBefore[i]!.sum) * 1000) / n : null;
      }),
      serverCpuMsPerEvent: servers.map((_, i) => (cpuBefore[i] != null && cpuAfter[i] != null ? ((cpuAfter[i]! - cpuBefore[i]!) * 1000) / options.events : null)),
      clientLoops: loops.map(({ delayP99Ms, delayMaxMs, utilization }) => ({ delayP99Ms, delayMaxMs, utilization })),
      machineBusyCores: busy,
      serverLogProblems: logFiles.map((f) => logProblems(f)),
    };
    http.forEach((h) => h.close());
    const warnings = result.serverLogProblems.flatMap((p, i) => (p.count ? [`instance ${i + 1}: ${p.count} warn/error log lines: ${p.samples.join(' | ')}`] : []));
    const targets: Target[] = [
      {
        scenario: 'fanout',
        target: `${fmt(options.subscribers)} subscribers over ${INSTANCES} instances: ack → receipt p99 < 50 ms`,
        measured: `p99 ${ms(result.ackToReceiptMs.p99)} ms (p50 ${ms(result.ackToReceiptMs.p50)} ms)`,
        pass: result.ackToReceiptMs.p99 < 50,
      },
      {
        scenario: 'fanout',
        target: 'memory per idle subscription: reported',
        measured: `${kib(average.heapUsedBytes)} heap, ${kib(average.rssBytes)} RSS`,
        pass: null,
      },
    ];
    return { result, markdown: fanoutTable(result), targets, warnings };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const sumOf = (samples: MemorySample[], key: keyof MemorySample) => samples.reduce((n, s) => n + s[key], 0);

function fanoutTable(r: FanoutResult): string {
  const row = (name: string, s: Summary) => `| ${name} | ${fmt(s.n)} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} |`;
  const lines = [
    `${fmt(r.options.subscribers)} subscribers over ${INSTANCES} instances (${r.options.clientProcesses} client processes), ${r.options.events} writes after ${r.options.warmupEvents} warm-up; connected and subscribed in ${fmt(r.connectAndSubscribeMs)} ms`,
    '',
    '| ms | samples | p50 | p90 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    row('mutation ack (HTTP round trip)', r.mutationAckMs),
    row('ack → receipt', r.ackToReceiptMs),
    row('send → receipt', r.sendToReceiptMs),
    row('last subscriber after ack', r.lastSubscriberAfterAckMs),
    ...r.ackToReceiptMsPerInstance.map((s, i) => row(`ack → receipt, instance ${i + 1}`, s)),
    '',
    `Where the time goes: publication → dispatch on the instance (server's delivery-lag histogram, mean) ${r.serverDeliveryLagMeanMs.map((v) => (v === null ? 'n/a' : `${fmt(v, 2)} ms`)).join(' / ')}; ` +
      `server CPU per event ${r.serverCpuMsPerEvent.map((v) => (v === null ? 'n/a' : `${fmt(v, 1)} ms`)).join(' / ')} (instance 1 / 2); ` +
      `subscriber processes' event loop busy ${r.clientLoops.map((l) => `${fmt(100 * l.utilization)}%`).join(' / ')}, delay p99 ${r.clientLoops.map((l) => `${fmt(l.delayP99Ms, 1)} ms`).join(' / ')}; ` +
      `machine busy ${fmt(r.machineBusyCores, 2)} cores on average while measuring.`,
    '',
    `Memory per idle subscription (own WebSocket + one subscription; after GC): ${r.memoryPerIdleSubscription.perInstance
      .map((m, i) => `instance ${i + 1}: ${kib(m.heapUsedBytes)} heap, ${kib(m.rssBytes)} RSS, ${kib(m.externalBytes)} external (${fmt(m.subscriptions)} subscriptions)`)
      .join('; ')}.`,
  ];
  return lines.join('\n');
}
