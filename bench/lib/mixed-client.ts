// The `mixed` scenario's load client, run as its own process (bench/lib/mixed.ts starts it):
// N concurrent loops over one keep-alive Agent, each request chosen at run time, each answer
// checked for staleness. autocannon sends one fixed body and reads no answers, so it cannot.
//
// Workload (per request): 95% reads, 5% writes (--write-share). Reads pick a kind by weight,
// then a key by a Zipf law (s = 1.0 by default) over that kind's keys, hottest first:
//   40% availability(bloodGroup, region?)   8 groups x (all regions + each region)
//   25% hospital(id) { inventory }          every hospital
//   25% donor(id)                           every donor
//   10% bloodRequests(region?, status?)     (all regions + each region) x (OPEN, any)
// Writes, under a staff token: 80% adjustInventory(+1) on a Zipf-chosen hospital (the same
// ranking as the reads, so hot hospitals are written most) and a uniform blood group, 20%
// updateDonor(city: "v<version>") on a Zipf-chosen donor.
//
// Stale reads. Every write's value is monotonic in commit order: stock only ever grows by one
// (the mutation returns the committed units), and a donor's city carries a version that only
// grows (one write per donor in flight at a time, versions from a process-wide counter that
// starts at the clock, so they also grow across runs on the same database). When a write is
// acknowledged we record its value; each read copies, as it is SENT, the values acknowledged
// so far for what it will show, and is stale if its answer shows less: fewer units, an older
// city version, or no availability row for a hospital known to hold units. Reads that started
// before an acknowledgement may legitimately show the older value and are not counted.
//
// Several instances (`ports`): every request, read or write, goes to the next instance in turn,
// and the acknowledged values are shared by all of them, so a write acknowledged by one instance
// and read from another afterwards is checked like any other; such reads are also counted apart
// (crossInstanceChecked), to show the check covered them.
//
// Where each read came from (x-cache, Cache-Status, Server-Timing: bench/lib/served-from.ts) is
// counted per origin, for the hit ratios.
import { childLifetime, toParent } from './child.js';
import { GqlClient, summarize, type GqlResponse, type Summary } from './http-client.js';
import { mulberry32 } from '../../src/db/prng.js';
import { readOrigin, sqlFetches, type ReadOrigin } from './served-from.js';

export const BLOOD_GROUPS = ['A_POS', 'A_NEG', 'B_POS', 'B_NEG', 'AB_POS', 'AB_NEG', 'O_POS', 'O_NEG'] as const;

export interface MixedStart {
  type: 'start';
  /** One port per instance; requests go round-robin over them. */
  ports: number[];
  token: string;
  concurrency: number;
  donors: number;
  zipfS: number;
  writeShare: number;
  seed: number;
}

export interface MixedRun {
  type: 'run';
  phase: string;
  seconds: number;
  maxRequests: number;
}

/** Reads every key of every kind once (bounded by `seconds`), before the warm-up: see prime(). */
export interface MixedPrime {
  type: 'prime';
  seconds: number;
}

export interface StaleExample {
  what: string;
  expected: string;
  got: string;
  xCache: string;
  readMs: number;
  /** The instance (index into `ports`) that answered the read, and the one that acknowledged the write it missed. */
  readVia: number;
  ackVia: number;
}

export interface MixedResult extends Counts {
  type: 'result';
  phase: string;
  wallSeconds: number;
  requests: number;
  reads: number;
  writes: number;
  requestsPerSecond: number;
  latencyMs: Summary;
  readLatencyMs: Summary;
  writeLatencyMs: Summary;
}

/** What the loops count as they go (the latencies become the summaries of MixedResult). */
interface Counts {
  /** x-cache of read responses. */
  readXCache: Record<string, number>;
  writeXCache: Record<string, number>;
  readsByKind: Record<string, number>;
  /** x-cache of read responses per kind of read: which reads miss. */
  readXCacheByKind: Record<string, Record<string, number>>;
  /** Reads by where they were served from (ReadOrigin), overall and per kind of read. */
  readOrigin: Partial<Record<ReadOrigin, number>>;
  readOriginByKind: Record<string, Partial<Record<ReadOrigin, number>>>;
  /** Reads whose Server-Timing carried the `sql` metric (0: a server without it; only x-cache counts). */
  timedReads: number;
  /** Reads per instance (index into `ports`). */
  readsByInstance: number[];
  /** Checked reads whose answer had to reflect a write acknowledged by another instance. */
  crossInstanceChecked: number;
  crossInstanceStale: number;
  /** Reads showing at least one value older than a write acknowledged before they were sent. */
  staleReads: number;
  staleExamples: StaleExample[];
  /** Reads whose answer could be checked against at least one acknowledged write. */
  checkedReads: number;
  errors: number;
  errorExamples: string[];
}

export type MixedMessage =
  | { type: 'ready'; hospitals: number; regions: string[] }
  | { type: 'primed'; reads: number; seconds: number }
  | MixedResult
  | { type: 'error'; message: string };

// ---- sampling ------------------------------------------------------------------------------


/** Rank 0..n-1 with P(rank k) proportional to 1/(k+1)^s (inverse CDF by binary search). */
class Zipf {
  private readonly cdf: Float64Array;

  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) this.cdf[k] = sum += 1 / Math.pow(k + 1, s);
    for (let k = 0; k < n; k++) this.cdf[k]! /= sum;
  }

  sample(u: number): number {
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

// ---- operations ----------------------------------------------------------------------------

const Q = {
  availability: 'query A($g: BloodGroup!, $r: String) { availability(bloodGroup: $g, region: $r) { units hospital { id name } } }',
  hospital: 'query H($id: ID!) { hospital(id: $id) { id name city inventory { bloodGroup units } } }',
  donor: 'query D($id: ID!) { donor(id: $id) { id name city bloodGroup } }',
  bloodRequests:
    'query R($r: String, $s: RequestStatus) { bloodRequests(region: $r, status: $s, first: 20) { nodes { id unitsNeeded unitsFulfilled urgency hospital { name } } } }',
  adjust: 'mutation I($h: ID!, $g: BloodGroup!) { adjustInventory(hospitalId: $h, bloodGroup: $g, delta: 1) { units } }',
  updateDonor: 'mutation U($id: ID!, $c: String!) { updateDonor(id: $id, input: { city: $c }) { id city } }',
};

const READ_WEIGHTS: [keyof typeof Q, number][] = [
  ['availability', 0.4],
  ['hospital', 0.25],
  ['donor', 0.25],
  ['bloodRequests', 0.1],
];

interface Workload {
  clients: GqlClient[];
  /** Round-robin position over `clients`, shared by all loops. */
  turn: number;
  token: string;
  start: MixedStart;
  hospitalIds: string[];
  regionOf: Map<string, string>;
  /** null = all regions. */
  regions: (string | null)[];
  zipf: { availability: Zipf; hospital: Zipf; donor: Zipf; bloodRequests: Zipf };
  /** `${hospitalId}:${group}` → units the last acknowledged write returned (max), and the instance that acknowledged it. */
  ackedUnits: Map<string, Acked>;
  /** donor id → last acknowledged city version, and the instance that acknowledged it. */
  ackedDonor: Map<string, Acked>;
  donorWriteInFlight: Set<string>;
  nextVersion: number;
}

interface Acked {
  value: number;
  via: number;
}

/** Keeps the larger value (acknowledgements can arrive out of order), with the instance that acknowledged it. */
function ack(map: Map<string, Acked>, key: string, value: number, via: number): void {
  const prev = map.get(key);
  if (!prev || value > prev.value) map.set(key, { value, via });
}

const nextInstance = (w: Workload) => w.turn++ % w.clients.length;

interface Tally extends Counts {
  latencies: number[];
  readLatencies: number[];
  writeLatencies: number[];
}

const bump = <K extends string>(o: Partial<Record<K, number>>, k: K) => (o[k] = (o[k] ?? 0) + 1);

function noteError(t: Tally, what: string, detail: string): void {
  t.errors++;
  if (t.errorExamples.length < 10) t.errorExamples.push(`${what}: ${detail}`.slice(0, 400));
}

function noteStale(t: Tally, e: StaleExample): void {
  t.staleReads++;
  if (t.staleExamples.length < 20) t.staleExamples.push(e);
}

function versionOf(city: unknown): number {
  const m = typeof city === 'string' ? /^v(\d+)$/.exec(city) : null;
  return m ? Number(m[1]) : 0;
}

/** One read: choose, copy the acknowledged values it must reflect, send, check. */
async function read(w: Workload, rand: () => number, t: Tally): Promise<void> {
  let u = rand();
  let kind: keyof typeof Q = 'availability';
  for (const [k, weight] of READ_WEIGHTS) {
    kind = k;
    if ((u -= weight) < 0) break;
  }
  bump(t.readsByKind, kind);
  const via = nextInstance(w);
  let vars: Record<string, unknown>;
  /** Whether any value the answer must reflect was acknowledged by another instance. */
  let cross = false;
  let check: (data: Record<string, unknown>, xCache: string, ms: number) => boolean;
  const stale = (e: Omit<StaleExample, 'readVia'>) => {
    noteStale(t, { ...e, readVia: via });
    if (e.ackVia !== via) t.crossInstanceStale++;
  };
  if (kind === 'availability') {
    const k = w.zipf.availability.sample(rand());
    const g = BLOOD_GROUPS[k % BLOOD_GROUPS.length]!;
    const r = w.regions[Math.floor(k / BLOOD_GROUPS.length)]!;
    vars = { g, r };
    const must: [string, Acked][] = [];
    for (const h of w.hospitalIds) {
      const acked = w.ackedUnits.get(`${h}:${g}`);
      if (acked !== undefined && (r === null || w.regionOf.get(h) === r)) must.push([h, acked]);
    }
    cross = must.some(([, a]) => a.via !== via);
    if (!must.length) check = () => false;
    else
      check = (data, xCache, ms) => {
        const got = new Map((data.availability as { units: number; hospital: { id: string } }[]).map((i) => [i.hospital.id, i.units]));
        for (const [h, acked] of must) {
          const seen = got.get(h);
          if (seen === undefined || seen < acked.value) {
            // One stale read however many of its rows are old; the first one is the example.
            stale({ what: `availability(${g}, ${r ?? 'all'}) hospital ${h}`, expected: `>= ${acked.value} units`, got: seen === undefined ? 'not listed' : `${seen}`, xCache, readMs: ms, ackVia: acked.via });
            break;
          }
        }
        return true;
      };
  } else if (kind === 'hospital') {
    const h = w.hospitalIds[w.zipf.hospital.sample(rand())]!;
    vars = { id: h };
    const must = BLOOD_GROUPS.map((g) => [g, w.ackedUnits.get(`${h}:${g}`)] as const).filter(([, a]) => a !== undefined) as [string, Acked][];
    cross = must.some(([, a]) => a.via !== via);
    check = (data, xCache, ms) => {
      if (!must.length) return false;
      const inv = new Map((data.hospital as { inventory: { bloodGroup: string; units: number }[] }).inventory.map((i) => [i.bloodGroup, i.units]));
      for (const [g, acked] of must) {
        const seen = inv.get(g) ?? 0;
        if (seen < acked.value) {
          stale({ what: `hospital(${h}).inventory ${g}`, expected: `>= ${acked.value} units`, got: `${seen}`, xCache, readMs: ms, ackVia: acked.via });
          break;
        }
      }
      return true;
    };
  } else if (kind === 'donor') {
    const id = String(w.zipf.donor.sample(rand()) + 1);
    vars = { id };
    const acked = w.ackedDonor.get(id);
    cross = acked !== undefined && acked.via !== via;
    check = (data, xCache, ms) => {
      if (acked === undefined) return false;
      const city = (data.donor as { city: string }).city;
      if (versionOf(city) < acked.value) stale({ what: `donor(${id}).city`, expected: `v${acked.value} or newer`, got: city, xCache, readMs: ms, ackVia: acked.via });
      return true;
    };
  } else {
    const k = w.zipf.bloodRequests.sample(rand());
    vars = { r: w.regions[k >> 1], s: k % 2 ? null : 'OPEN' };
    check = () => false; // nothing in this workload writes blood requests
  }
  const started = performance.now();
  let res: GqlResponse;
  try {
    res = await w.clients[via]!.post(Q[kind], vars);
  } catch (err) {
    return noteError(t, kind, (err as Error).message);
  }
  const ms = performance.now() - started;
  t.latencies.push(ms);
  t.readLatencies.push(ms);
  t.readsByInstance[via] = (t.readsByInstance[via] ?? 0) + 1;
  bump(t.readXCache, res.xCache);
  bump((t.readXCacheByKind[kind] ??= {}), res.xCache);
  const origin = readOrigin(res);
  bump(t.readOrigin, origin);
  bump((t.readOriginByKind[kind] ??= {}), origin);
  if (sqlFetches(res.serverTiming) !== null) t.timedReads++;
  const data = res.json?.data;
  if (res.status !== 200 || !data || res.json?.errors?.length) return noteError(t, kind, `HTTP ${res.status} ${JSON.stringify(res.json?.errors ?? '').slice(0, 200)}`);
  if (check(data, res.xCache, ms)) {
    t.checkedReads++;
    if (cross) t.crossInstanceChecked++;
  }
}

async function write(w: Workload, rand: () => number, t: Tally): Promise<void> {
  let query: string;
  let vars: Record<string, unknown>;
  let acknowledge: (data: Record<string, unknown>) => void;
  const via = nextInstance(w);
  const donorId = rand() < 0.2 ? String(w.zipf.donor.sample(rand()) + 1) : null;
  if (donorId !== null && !w.donorWriteInFlight.has(donorId)) {
    // One write per donor in flight: versions then commit in the order they were issued.
    const version = w.nextVersion++;
    w.donorWriteInFlight.add(donorId);
    query = Q.updateDonor;
    vars = { id: donorId, c: `v${version}` };
    acknowledge = (data) => ack(w.ackedDonor, donorId, versionOf((data.updateDonor as { city: string }).city), via);
  } else {
    const h = w.hospitalIds[w.zipf.hospital.sample(rand())]!;
    const g = BLOOD_GROUPS[Math.floor(rand() * BLOOD_GROUPS.length)]!;
    query = Q.adjust;
    vars = { h, g };
    acknowledge = (data) => ack(w.ackedUnits, `${h}:${g}`, (data.adjustInventory as { units: number }).units, via);
  }
  const started = performance.now();
  try {
    const res = await w.clients[via]!.post(query, vars, w.token);
    const ms = performance.now() - started;
    t.latencies.push(ms);
    t.writeLatencies.push(ms);
    bump(t.writeXCache, res.xCache);
    const data = res.json?.data;
    if (res.status !== 200 || !data || res.json?.errors?.length) return noteError(t, 'write', `HTTP ${res.status} ${JSON.stringify(res.json?.errors ?? '').slice(0, 200)}`);
    acknowledge(data);
  } catch (err) {
    noteError(t, 'write', (err as Error).message);
  } finally {
    if (donorId !== null) w.donorWriteInFlight.delete(donorId);
  }
}

async function run(w: Workload, msg: MixedRun, seedBase: number): Promise<MixedResult> {
  const t: Tally = {
    latencies: [],
    readLatencies: [],
    writeLatencies: [],
    readXCache: {},
    writeXCache: {},
    readsByKind: {},
    readXCacheByKind: {},
    readOrigin: {},
    readOriginByKind: {},
    timedReads: 0,
    readsByInstance: w.clients.map(() => 0),
    crossInstanceChecked: 0,
    crossInstanceStale: 0,
    staleReads: 0,
    staleExamples: [],
    checkedReads: 0,
    errors: 0,
    errorExamples: [],
  };
  const started = performance.now();
  const deadline = started + msg.seconds * 1000;
  let issued = 0;
  const loop = async (i: number) => {
    const rand = mulberry32(seedBase * 1000 + i);
    while (performance.now() < deadline && issued < msg.maxRequests) {
      issued++;
      if (rand() < w.start.writeShare) await write(w, rand, t);
      else await read(w, rand, t);
    }
  };
  await Promise.all(Array.from({ length: w.start.concurrency }, (_, i) => loop(i)));
  const wallSeconds = (performance.now() - started) / 1000;
  const { latencies, readLatencies, writeLatencies, ...counts } = t;
  return {
    type: 'result',
    phase: msg.phase,
    wallSeconds,
    requests: latencies.length,
    reads: readLatencies.length,
    writes: writeLatencies.length,
    requestsPerSecond: latencies.length / wallSeconds,
    latencyMs: summarize(latencies),
    readLatencyMs: summarize(readLatencies),
    writeLatencyMs: summarize(writeLatencies),
    ...counts,
  };
}

/**
 * Reads every key the workload can choose once, over every instance: every donor, hospital,
 * availability and bloodRequests variant. A deployment that has run for a while holds them
 * (donors live 600 s in the cache); without this, a run of seconds would mostly measure first
 * reads of the 10,000-donor Zipf tail, not the steady state, where misses come from
 * invalidation and expiry. Bounded by `seconds`; answers are not checked (nothing was written yet).
 */
async function prime(w: Workload, seconds: number): Promise<{ reads: number; seconds: number }> {
  const todo: [string, Record<string, unknown>][] = [];
  for (const g of BLOOD_GROUPS) for (const r of w.regions) todo.push([Q.availability, { g, r }]);
  for (const r of w.regions) for (const s of ['OPEN', null]) todo.push([Q.bloodRequests, { r, s }]);
  for (const id of w.hospitalIds) todo.push([Q.hospital, { id }]);
  for (let id = 1; id <= w.start.donors; id++) todo.push([Q.donor, { id: String(id) }]);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;
  const loop = async () => {
    while (next < todo.length && performance.now() < deadline) {
      const [query, vars] = todo[next++]!;
      await w.clients[nextInstance(w)]!.post(query, vars).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: w.start.concurrency }, loop));
  return { reads: next, seconds: (performance.now() - started) / 1000 };
}

async function setup(start: MixedStart): Promise<Workload> {
  // Each instance's Agent may hold every loop's socket: a loop's next request can go to any of them.
  const clients = start.ports.map((port) => new GqlClient(port, start.concurrency));
  const hospitals = (await clients[0]!.data('{ hospitals { id region } }')).hospitals as { id: string; region: string }[];
  const hospitalIds = hospitals.map((h) => h.id).sort((a, b) => Number(a) - Number(b));
  const regionNames = [...new Set(hospitals.map((h) => h.region))].sort();
  const regions: (string | null)[] = [null, ...regionNames];
  return {
    clients,
    turn: 0,
    token: start.token,
    start,
    hospitalIds,
    regionOf: new Map(hospitals.map((h) => [h.id, h.region])),
    regions,
    zipf: {
      availability: new Zipf(BLOOD_GROUPS.length * regions.length, start.zipfS),
      hospital: new Zipf(hospitalIds.length, start.zipfS),
      donor: new Zipf(start.donors, start.zipfS),
      bloodRequests: new Zipf(regions.length * 2, start.zipfS),
    },
    ackedUnits: new Map(),
    ackedDonor: new Map(),
    donorWriteInFlight: new Set(),
    // Grows across runs on the same database too (see the header).
    nextVersion: Date.now() * 100,
  };
}

if (require.main === module) {
  childLifetime();
  let workload: Workload | undefined;
  let runs = 0;
  process.on('message', (msg: MixedStart | MixedRun | MixedPrime) => {
    const work =
      msg.type === 'start'
        ? setup(msg).then((w) => {
            workload = w;
            toParent({ type: 'ready', hospitals: w.hospitalIds.length, regions: w.regions.filter((r): r is string => r !== null) });
          })
        : msg.type === 'prime'
          ? prime(workload!, msg.seconds).then((p) => toParent({ type: 'primed', ...p }))
          : run(workload!, msg, workload!.start.seed + ++runs).then(toParent);
    work.catch((err: unknown) => toParent({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
}
