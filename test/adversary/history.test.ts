// An adversary in the spirit of Jepsen: three instances on one Redis and one PostgreSQL, spoken to
// through the public GraphQL API only, by concurrent clients that read and write donors, stock
// and blood requests while the test cuts one instance off from Redis, SIGKILLs another in the
// middle of a write and starts a replacement, then silently partitions the first one again.
// Every operation is recorded with its invocation and completion time; the history checker
// (test/helpers/history.ts) then fails any read that returned a state older than a write
// acknowledged before the read began, and the test prints how many it checked.
//
// Registers and how their states are numbered (0 = as seeded, before the run):
//   donor:<id>.name / .city   one writing client per donor, a counter per donor in the written
//                             value ("H<id>v<n>"): n is the state
//   stock:<hospital>:<group>  any client adds 1..3 units; the units the write returned are the
//                             state (stock only grows here, so units increase in commit order)
//   request:<id>.open         the creating client creates it (1 = OPEN) and later cancels or
//                             fulfils it (2 = closed); read as membership of OPEN lists
// Errors (an error answer, including "committed but not yet visible", a reset connection, a
// timeout) make a write indeterminate: a read may see it or not.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mulberry32 } from '../../src/db/prng.js';
import { checkHistory, formatHistoryReport, type Operation } from '../helpers/history.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { gql } from '../helpers/graphql.js';
import { testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const root = path.resolve(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const servers: Server[] = [];
// The test kills its servers in `finally`. This covers a test that timed out (jest does not run
// its `finally`; the flag stops its clients) and a worker exiting early; registered before the
// database's hook so that it runs first.
let aborted = false;
const killAll = () => {
  aborted = true;
  servers.forEach(killServer);
};
afterAll(killAll);
process.once('exit', killAll);
const db = useSeededDatabase({ donors: 60, hospitals: 8, donations: 100, campaigns: 2, requests: 30, seed: 11 });
const SECRET = 'adversary-history-test-secret-0123456789abcdef';

// The schedule (ms after the clients start). Bounded: the clients stop at RUN_MS and every
// operation gives up after OP_TIMEOUT_MS, so the run takes at most RUN_MS + OP_TIMEOUT_MS.
const WARM_MS = 4_000;
const PARTITION_MS = 5_000;
const KILL_AFTER_HEAL_MS = 3_000;
const KILL_INTO_WRITE_MS = 15;
/** A silent partition of i0 (answers stop, connections stay open), ended by resetting them. */
const BLACKHOLE_AT_MS = 18_000;
const BLACKHOLE_MS = 3_000;
const RUN_MS = 25_000;
const OP_TIMEOUT_MS = 10_000;
const CLIENTS_PER_INSTANCE = 3;
const TRACKED_DONORS = 18;
const STOCK_GROUPS = ['A_POS', 'O_NEG', 'B_NEG'] as const;
const REQUEST_GROUP = 'AB_NEG';

interface Server {
  name: string;
  child: ChildProcess;
  url: string;
  /** The process that serves (tsx runs the server in a child of its own). */
  pid: number;
  alive: boolean;
  output: string[];
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'NODE_ENV', 'PORT', 'WEB_CONCURRENCY', 'CACHE_PREFIX']) delete env[k];
  return { ...env, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0', SEED_DEMO_DATA: '0', PORT: '0', HOST: '127.0.0.1', ...extra };
}


async function startServer(name: string, env: Record<string, string>): Promise<Server> {
  const child = spawn(tsx, ['src/main.ts'], { cwd: root, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const server: Server = { name, child, url: '', pid: 0, alive: true, output };
  servers.push(server);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 90 s:\n${output.join('')}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.splice(0, output.length - 200);
      const match = /serving GraphQL at (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(output.join(''));
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      server.alive = false;
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before serving:\n${output.join('')}`));
    });
  });
  server.url = url;
  const health = (await (await fetch(`${url}/health`)).json()) as { pid: number };
  server.pid = health.pid;
  return server;
}

function killServer(server: Server) {
  server.alive = false;
  for (const pid of [server.pid, server.child.pid]) {
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Whether a process is gone: a zombie (killed, not yet reaped by whoever adopted it) counts as gone. */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    // Linux: the state follows the parenthesised command name.
    return /\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Bounded wait for a process (not necessarily our child) to be gone. */
async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isGone(pid)) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type CallResult =
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { ok: true; data: any; invokedAt: number; completedAt: number }
  | { ok: false; error: string; timedOut: boolean; invokedAt: number; completedAt: number };

async function call(server: Server, query: string, variables?: Record<string, unknown>, token?: string): Promise<CallResult> {
  const invokedAt = performance.now();
  try {
    const res = await gql(server.url, query, variables, { token, timeoutMs: OP_TIMEOUT_MS });
    const completedAt = performance.now();
    if (!res.body) return { ok: false, error: `HTTP ${res.status} ${res.text.slice(0, 100)}`, timedOut: false, invokedAt, completedAt };
    if (res.body.errors?.length || res.body.data == null) {
      const e = res.body.errors?.[0];
      return { ok: false, error: `${e?.extensions?.code ?? 'ERROR'}: ${e?.message ?? 'no data'}`, timedOut: false, invokedAt, completedAt };
    }
    return { ok: true, data: res.body.data, invokedAt, completedAt };
  } catch (err) {
    const completedAt = performance.now();
    const e = err as Error;
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    return { ok: false, error: timedOut ? 'timeout' : `transport: ${(e.cause as Error | undefined)?.message ?? e.message}`, timedOut, invokedAt, completedAt };
  }
}

test('history: no read returns data older than a write acknowledged before it began (3 instances, a partition, a SIGKILL)', async () => {
  const redisUrl = testRedisUrl();
  const redisTarget = new URL(redisUrl);
  const proxy: TcpProxy = await startTcpProxy({ host: redisTarget.hostname, port: Number(redisTarget.port) });
  const shared = { DATABASE_URL: db().url, JWT_SECRET: SECRET, CACHE_PREFIX: uniqueCachePrefix(), CACHE_TIMEOUT_MS: '1000' };
  try {
    // i0 reaches Redis through the proxy (it is the one partitioned); i2 is the one killed.
    const [i0, i1, i2] = await Promise.all([
      startServer('i0', { ...shared, REDIS_URL: proxy.urlFor(redisUrl) }),
      startServer('i1', { ...shared, REDIS_URL: redisUrl }),
      startServer('i2', { ...shared, REDIS_URL: redisUrl }),
    ]);
    /** Slot 2 holds i2, then the instance started in its place. */
    const instances = [i0!, i1!, i2!];

    // ---- what the clients work on, discovered through the API -----------------------------
    const { staff, admin } = await demoTokens(i1!.url);
    const setup = await call(i1!, '{ hospitals { id region } donors(first: 100) { nodes { id } } }');
    if (!setup.ok) throw new Error(`setup read failed: ${setup.error}`);
    const hospitals = (setup.data.hospitals as { id: string; region: string }[]).sort((a, b) => Number(a.id) - Number(b.id));
    const regionOf = new Map(hospitals.map((h) => [h.id, h.region]));
    const stockHospitals = hospitals.slice(0, 3).map((h) => h.id);
    const requestHospital = hospitals[3]!;
    const donorIds = (setup.data.donors.nodes as { id: string }[]).slice(0, TRACKED_DONORS).map((d) => d.id);
    expect(donorIds).toHaveLength(TRACKED_DONORS);
    // Enough stock for every fulfilment at the request hospital (its group is not a tracked stock key).
    const stocked = await call(
      i1!,
      'mutation($h: ID!) { adjustInventory(hospitalId: $h, bloodGroup: AB_NEG, delta: 900) { units } }',
      { h: requestHospital.id },
      admin,
    );
    if (!stocked.ok) throw new Error(`setup write failed: ${stocked.error}`);

    // ---- the history -----------------------------------------------------------------------
    const history: Operation[] = [];
    const stats = { requests: 0, readRequests: 0, failedReadRequests: 0, writeRequests: 0, failedWrites: new Map<string, number>() };
    const record = (op: Operation) => history.push(op);
    const donorCounter = new Map(donorIds.map((id) => [id, 0]));
    /** Donors whose last write timed out: it may still commit later, after a newer one, so no more writes. */
    const retiredDonors = new Set<string>();
    /** Requests created (acknowledged), and when their closing write was invoked. */
    const knownRequests = new Map<string, { closeInvokedAt?: number }>();

    const parseDonorValue = (id: string, text: string, prefix: string): number => {
      const m = new RegExp(`^${prefix}${id}v(\\d+)$`).exec(text);
      return m ? Number(m[1]) : 0;
    };
    const observeDonor = (client: string, r: CallResult & { ok: true }, d: { id: string; name: string; city: string }, detail: string) => {
      if (!donorCounter.has(d.id)) return;
      const base = { client, kind: 'read' as const, invokedAt: r.invokedAt, completedAt: r.completedAt, ok: true, detail };
      record({ ...base, key: `donor:${d.id}.name`, value: parseDonorValue(d.id, d.name, 'H'), detail: `${detail} name=${d.name}` });
      record({ ...base, key: `donor:${d.id}.city`, value: parseDonorValue(d.id, d.city, 'Town'), detail: `${detail} city=${d.city}` });
    };
    const observeStock = (client: string, r: CallResult & { ok: true }, hospitalId: string, group: string, units: number, detail: string) => {
      record({ client, kind: 'read', key: `stock:${hospitalId}:${group}`, invokedAt: r.invokedAt, completedAt: r.completedAt, value: units, ok: true, detail });
    };
    /** Membership of the OPEN requests we know of; absence is "closed" once a close was attempted, else "not yet created". */
    const observeOpen = (client: string, r: CallResult & { ok: true }, openIds: Set<string>, complete: boolean, detail: string) => {
      for (const [id, req] of knownRequests) {
        const present = openIds.has(id);
        if (!present && !complete) continue; // it may be on a later page
        const value = present ? 1 : req.closeInvokedAt !== undefined && req.closeInvokedAt < r.completedAt ? 2 : 0;
        record({ client, kind: 'read', key: `request:${id}.open`, invokedAt: r.invokedAt, completedAt: r.completedAt, value, ok: true, detail: `${detail} ${present ? 'listed' : 'not listed'}` });
      }
    };

    let stopping = false;
    /** Set by the fault schedule to learn when a write is sent to the instance it is about to kill. */
    let onWriteStart: ((server: Server) => void) | undefined;
    const alive = () => instances.filter((s) => s.alive);

    async function runClient(index: number) {
      const slot = index % instances.length;
      const name = `c${index}@${instances[slot]!.name}`;
      // Seeded: the clients' choices repeat from run to run (their timing cannot).
      const random = mulberry32(1000 + index);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const myDonors = donorIds.filter((_, i) => i % (CLIENTS_PER_INSTANCE * instances.length) === index);
      const token = index % 2 ? staff : admin;
      let openRequest: string | undefined;
      const write = (server: Server, query: string, variables: Record<string, unknown>) => {
        onWriteStart?.(server);
        return call(server, query, variables, token);
      };

      const failWrite = (r: CallResult & { ok: false }, what: string) => {
        const code = r.error.split(':')[0]!;
        stats.failedWrites.set(code, (stats.failedWrites.get(code) ?? 0) + 1);
        return `${what} failed (${r.error.slice(0, 80)})`;
      };

      for (let n = 0; !stopping && !aborted && n < 5_000; n++) {
        // The home instance while it lives (or its replacement, once serving); the survivors between.
        const home = instances[slot]!;
        const survivors = alive();
        if (!survivors.length) break;
        const server = home.alive ? home : pick(survivors);
        const at = `on ${server.name}`;
        const roll = random();
        stats.requests++;
        if (roll < 0.15 && myDonors.some((d) => !retiredDonors.has(d))) {
          stats.writeRequests++;
          const id = pick(myDonors.filter((d) => !retiredDonors.has(d)));
          const v = donorCounter.get(id)! + 1;
          donorCounter.set(id, v);
          const r = await write(
            server,
            'mutation($id: ID!, $input: UpdateDonorInput!) { updateDonor(id: $id, input: $input) { id name city } }',
            { id, input: { name: `H${id}v${v}`, city: `Town${id}v${v}` } },
          );
          if (!r.ok && r.timedOut) retiredDonors.add(id);
          const detail = r.ok ? `updateDonor ${at}` : `updateDonor ${at}: ${failWrite(r, 'write')}`;
          for (const field of ['name', 'city']) record({ client: name, kind: 'write', key: `donor:${id}.${field}`, invokedAt: r.invokedAt, completedAt: r.completedAt, value: v, ok: r.ok, detail });
        } else if (roll < 0.25) {
          stats.writeRequests++;
          const hospitalId = pick(stockHospitals);
          const group = pick(STOCK_GROUPS);
          const r = await write(
            server,
            'mutation($h: ID!, $g: BloodGroup!, $d: Int!) { adjustInventory(hospitalId: $h, bloodGroup: $g, delta: $d) { units } }',
            { h: hospitalId, g: group, d: 1 + Math.floor(random() * 3) },
          );
          record({
            client: name,
            kind: 'write',
            key: `stock:${hospitalId}:${group}`,
            invokedAt: r.invokedAt,
            completedAt: r.completedAt,
            value: r.ok ? (r.data.adjustInventory.units as number) : undefined,
            ok: r.ok,
            detail: r.ok ? `adjustInventory ${at}` : `adjustInventory ${at}: ${failWrite(r, 'write')}`,
          });
        } else if (roll < 0.35) {
          stats.writeRequests++;
          if (!openRequest) {
            const r = await write(
              server,
              'mutation($input: CreateBloodRequestInput!) { createBloodRequest(input: $input) { id status } }',
              { input: { hospitalId: requestHospital.id, bloodGroup: REQUEST_GROUP, unitsNeeded: 1, urgency: 'EMERGENCY' } },
            );
            // An indeterminate create has no id we could follow: it is simply not tracked.
            if (r.ok) {
              openRequest = r.data.createBloodRequest.id as string;
              knownRequests.set(openRequest, {});
              record({ client: name, kind: 'write', key: `request:${openRequest}.open`, invokedAt: r.invokedAt, completedAt: r.completedAt, value: 1, ok: true, detail: `createBloodRequest ${at}` });
            } else failWrite(r, 'create');
          } else {
            const id = openRequest;
            const fulfil = random() < 0.5;
            knownRequests.get(id)!.closeInvokedAt = performance.now();
            const r = fulfil
              ? await write(server, 'mutation($id: ID!) { fulfillBloodRequest(id: $id, units: 1) { id status } }', { id })
              : await write(server, 'mutation($id: ID!) { cancelBloodRequest(id: $id) { id status } }', { id });
            const op = fulfil ? 'fulfillBloodRequest' : 'cancelBloodRequest';
            record({ client: name, kind: 'write', key: `request:${id}.open`, invokedAt: r.invokedAt, completedAt: r.completedAt, value: 2, ok: r.ok, detail: r.ok ? `${op} ${at}` : `${op} ${at}: ${failWrite(r, 'write')}` });
            // Whatever the outcome, this client writes the request no more: one writer, one order.
            openRequest = undefined;
          }
        } else {
          stats.readRequests++;
          const kind = Math.floor(random() * 6);
          let r: CallResult;
          if (kind === 0) {
            const id = pick(donorIds);
            r = await call(server, 'query($id: ID!) { donor(id: $id) { id name city } }', { id });
            if (r.ok && r.data.donor) observeDonor(name, r, r.data.donor, `donor(id) ${at}`);
          } else if (kind === 1) {
            r = await call(server, '{ donors(first: 100) { nodes { id name city } } }');
            if (r.ok) for (const d of r.data.donors.nodes) observeDonor(name, r, d, `donors ${at}`);
          } else if (kind === 2) {
            const hospitalId = pick(stockHospitals);
            r = await call(server, 'query($id: ID!) { hospital(id: $id) { id inventory { bloodGroup units } } }', { id: hospitalId });
            if (r.ok)
              for (const item of r.data.hospital.inventory as { bloodGroup: string; units: number }[])
                if ((STOCK_GROUPS as readonly string[]).includes(item.bloodGroup)) observeStock(name, r, hospitalId, item.bloodGroup, item.units, `hospital.inventory ${at}`);
          } else if (kind === 3) {
            const group = pick(STOCK_GROUPS);
            const region = regionOf.get(pick(stockHospitals))!;
            r = await call(server, 'query($g: BloodGroup!, $r: String) { availability(bloodGroup: $g, region: $r) { hospital { id } units } }', { g: group, r: region });
            if (r.ok) {
              const listed = new Map((r.data.availability as { hospital: { id: string }; units: number }[]).map((i) => [i.hospital.id, i.units]));
              // Only hospitals holding at least one unit are listed: absent means 0 units.
              for (const h of stockHospitals) if (regionOf.get(h) === region) observeStock(name, r, h, group, listed.get(h) ?? 0, `availability ${at}`);
            }
          } else if (kind === 4) {
            r = await call(
              server,
              'query($r: String) { bloodRequests(status: OPEN, urgency: EMERGENCY, region: $r, first: 100) { nodes { id } pageInfo { hasNextPage } } }',
              { r: requestHospital.region },
            );
            if (r.ok) {
              const ids = new Set((r.data.bloodRequests.nodes as { id: string }[]).map((x) => x.id));
              observeOpen(name, r, ids, !r.data.bloodRequests.pageInfo.hasNextPage, `bloodRequests(OPEN) ${at}`);
            }
          } else {
            r = await call(server, 'query($id: ID!) { hospital(id: $id) { id requests(status: OPEN) { id } } }', { id: requestHospital.id });
            if (r.ok) observeOpen(name, r, new Set((r.data.hospital.requests as { id: string }[]).map((x) => x.id)), true, `hospital.requests(OPEN) ${at}`);
          }
          if (!r.ok) stats.failedReadRequests++;
        }
      }
    }

    // ---- the run: clients, and the faults on a schedule --------------------------------------
    const start = performance.now();
    const since = () => `${((performance.now() - start) / 1000).toFixed(1)}s`;
    const events: string[] = [];
    const clients = Array.from({ length: CLIENTS_PER_INSTANCE * instances.length }, (_, i) => runClient(i));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(WARM_MS);
    proxy.cut();
    events.push(`${since()} cut i0 off from Redis`);
    await sleep(PARTITION_MS);
    proxy.heal();
    events.push(`${since()} healed`);
    await sleep(KILL_AFTER_HEAL_MS);
    // Kill i2 while it handles a write, when one comes within a few seconds: its commit may have
    // happened and its invalidation not (that write is then indeterminate, the ones after it not).
    const writeOnI2 = new Promise<boolean>((resolve) => (onWriteStart = (server) => server === i2 && resolve(true)));
    const caughtWrite = await Promise.race([writeOnI2, sleep(3_000).then(() => false)]);
    onWriteStart = undefined;
    if (caughtWrite) await sleep(KILL_INTO_WRITE_MS);
    killServer(i2!);
    await waitForExit(i2!.pid, 10_000);
    events.push(`${since()} SIGKILLed i2 (pid ${i2!.pid})${caughtWrite ? ` ${KILL_INTO_WRITE_MS} ms into a write` : ''}`);
    // A replacement starts at once and takes i2's clients back when it serves, if it does before
    // the run ends (a slow start only shortens its part; it is killed with the others after).
    let restartError: Error | undefined;
    void startServer('i2b', { ...shared, REDIS_URL: redisUrl }).then(
      (replacement) => {
        if (stopping) return;
        instances[2] = replacement;
        events.push(`${since()} i2b serving in i2's place`);
      },
      (err: Error) => {
        if (!stopping) restartError = err;
      },
    );
    await sleep(Math.max(0, BLACKHOLE_AT_MS - (performance.now() - start)));
    proxy.blackhole();
    events.push(`${since()} blackholed i0's Redis traffic`);
    await sleep(BLACKHOLE_MS);
    // Reset rather than resume: the proxy dropped bytes mid-stream, which TCP never does, so a
    // resumed connection would desynchronise the protocol (a fault of the proxy, not the app).
    proxy.cut();
    proxy.heal();
    events.push(`${since()} reset those connections and healed`);
    await sleep(Math.max(0, RUN_MS - (performance.now() - start)));
    stopping = true;
    await Promise.all(clients);
    events.push(`${since()} clients stopped`);

    // ---- the verdict -----------------------------------------------------------------------
    const result = checkHistory(history);
    const report = formatHistoryReport(result, { origin: start, limit: 15 });
    const families = new Map<string, { reads: number; writes: number; stale: number }>();
    const family = (key: string) => {
      const name = key.split(':')[0]!;
      let f = families.get(name);
      if (!f) families.set(name, (f = { reads: 0, writes: 0, stale: 0 }));
      return f;
    };
    for (const op of history) family(op.key)[op.kind === 'read' ? 'reads' : 'writes']++;
    for (const { read } of result.stale) family(read.key).stale++;
    const byFamily = [...families].map(([name, f]) => `${name} ${f.reads} reads/${f.writes} writes/${f.stale} stale`).join('; ');
    const failures = [...stats.failedWrites].map(([code, count]) => `${code} x${count}`).join(', ') || 'none';
    console.log(
      [
        `adversary: ${stats.requests} requests (${stats.readRequests} reads, ${stats.writeRequests} writes) by ${clients.length} clients on 3 instances`,
        `  faults: ${events.join('; ')}`,
        `  failed read requests: ${stats.failedReadRequests}; failed writes by code: ${failures}`,
        `  by register: ${byFamily}`,
        report,
      ].join('\n'),
    );
    // Only the instance the test killed may have died; its replacement must start.
    if (restartError) throw restartError;
    for (const server of instances) {
      // i2 itself is still in its slot when the run ended before its replacement served.
      if (!server.alive && server !== i2) throw new Error(`${server.name} died on its own:\n${server.output.join('')}`);
    }
    // The history is large enough to mean something (bounded by time, so kept modest).
    expect(result.checkedReads).toBeGreaterThan(100);
    expect(result.ackedWrites).toBeGreaterThan(20);
    if (!result.valid) throw new Error(report);
  } finally {
    for (const server of servers) killServer(server);
    await proxy.close();
  }
}, 180_000);
