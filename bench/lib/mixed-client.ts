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
import { childLifetime, toParent } from './child.js';
import { GqlClient, summarize, type GqlResponse, type Summary } from './http-client.js';
import { mulberry32 } from '../../src/db/prng.js';

export const BLOOD_GROUPS = ['A_POS', 'A_NEG', 'B_POS', 'B_NEG', 'AB_POS', 'AB_NEG', 'O_POS', 'O_NEG'] as const;

export interface MixedStart {
  type: 'start';
  port: number;
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

export interface StaleExample {
  what: string;
  expected: string;
  got: string;
  xCache: string;
  readMs: number;
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
  /** Reads showing at least one value older than a write acknowledged before they were sent. */
  staleReads: number;
  staleExamples: StaleExample[];
  /** Reads whose answer could be checked against at least one acknowledged write. */
  checkedReads: number;
  errors: number;
  errorExamples: string[];
}

export type MixedMessage = { type: 'ready'; hospitals: number; regions: string[] } | MixedResult | { type: 'error'; message: string };

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
  client: GqlClient;
  token: string;
  start: MixedStart;
  hospitalIds: string[];
  regionOf: Map<string, string>;
  /** null = all regions. */
  regions: (string | null)[];
  zipf: { availability: Zipf; hospital: Zipf; donor: Zipf; bloodRequests: Zipf };
  /** `${hospitalId}:${group}` → units the last acknowledged write returned (max). */
  ackedUnits: Map<string, number>;
  /** donor id → last acknowledged city version. */
  ackedDonor: Map<string, number>;
  donorWriteInFlight: Set<string>;
  nextVersion: number;
}

interface Tally extends Counts {
  latencies: number[];
  readLatencies: number[];
  writeLatencies: number[];
}

const bump = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);

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
  let vars: Record<string, unknown>;
  let check: (data: Record<string, unknown>, xCache: string, ms: number) => boolean;
  if (kind === 'availability') {
    const k = w.zipf.availability.sample(rand());
    const g = BLOOD_GROUPS[k % BLOOD_GROUPS.length]!;
    const r = w.regions[Math.floor(k / BLOOD_GROUPS.length)]!;
    vars = { g, r };
    const must: [string, number][] = [];
    for (const h of w.hospitalIds) {
      const units = w.ackedUnits.get(`${h}:${g}`);
      if (units !== undefined && (r === null || w.regionOf.get(h) === r)) must.push([h, units]);
    }
    if (!must.length) check = () => false;
    else
      check = (data, xCache, ms) => {
        const got = new Map((data.availability as { units: number; hospital: { id: string } }[]).map((i) => [i.hospital.id, i.units]));
        for (const [h, units] of must) {
          const seen = got.get(h);
          if (seen === undefined || seen < units) {
            // One stale read however many of its rows are old; the first one is the example.
            noteStale(t, { what: `availability(${g}, ${r ?? 'all'}) hospital ${h}`, expected: `>= ${units} units`, got: seen === undefined ? 'not listed' : `${seen}`, xCache, readMs: ms });
            break;
          }
        }
        return true;
      };
  } else if (kind === 'hospital') {
    const h = w.hospitalIds[w.zipf.hospital.sample(rand())]!;
    vars = { id: h };
    const must = BLOOD_GROUPS.map((g) => [g, w.ackedUnits.get(`${h}:${g}`)] as const).filter(([, u]) => u !== undefined) as [string, number][];
    check = (data, xCache, ms) => {
      if (!must.length) return false;
      const inv = new Map((data.hospital as { inventory: { bloodGroup: string; units: number }[] }).inventory.map((i) => [i.bloodGroup, i.units]));
      for (const [g, units] of must) {
        const seen = inv.get(g) ?? 0;
        if (seen < units) {
          noteStale(t, { what: `hospital(${h}).inventory ${g}`, expected: `>= ${units} units`, got: `${seen}`, xCache, readMs: ms });
          break;
        }
      }
      return true;
    };
  } else if (kind === 'donor') {
    const id = String(w.zipf.donor.sample(rand()) + 1);
    vars = { id };
    const version = w.ackedDonor.get(id);
    check = (data, xCache, ms) => {
      if (version === undefined) return false;
      const city = (data.donor as { city: string }).city;
      if (versionOf(city) < version) noteStale(t, { what: `donor(${id}).city`, expected: `v${version} or newer`, got: city, xCache, readMs: ms });
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
    res = await w.client.post(Q[kind], vars);
  } catch (err) {
    return noteError(t, kind, (err as Error).message);
  }
  const ms = performance.now() - started;
  t.latencies.push(ms);
  t.readLatencies.push(ms);
  bump(t.readXCache, res.xCache);
  bump((t.readXCacheByKind[kind] ??= {}), res.xCache);
  const data = res.json?.data;
  if (res.status !== 200 || !data || res.json?.errors?.length) return noteError(t, kind, `HTTP ${res.status} ${JSON.stringify(res.json?.errors ?? '').slice(0, 200)}`);
  if (check(data, res.xCache, ms)) t.checkedReads++;
}

async function write(w: Workload, rand: () => number, t: Tally): Promise<void> {
  let query: string;
  let vars: Record<string, unknown>;
  let ack: (data: Record<string, unknown>) => void;
  const donorId = rand() < 0.2 ? String(w.zipf.donor.sample(rand()) + 1) : null;
  if (donorId !== null && !w.donorWriteInFlight.has(donorId)) {
    // One write per donor in flight: versions then commit in the order they were issued.
    const version = w.nextVersion++;
    w.donorWriteInFlight.add(donorId);
    query = Q.updateDonor;
    vars = { id: donorId, c: `v${version}` };
    ack = (data) => {
      const got = versionOf((data.updateDonor as { city: string }).city);
      w.ackedDonor.set(donorId, Math.max(w.ackedDonor.get(donorId) ?? 0, got));
    };
  } else {
    const h = w.hospitalIds[w.zipf.hospital.sample(rand())]!;
    const g = BLOOD_GROUPS[Math.floor(rand() * BLOOD_GROUPS.length)]!;
    query = Q.adjust;
    vars = { h, g };
    ack = (data) => {
      const key = `${h}:${g}`;
      w.ackedUnits.set(key, Math.max(w.ackedUnits.get(key) ?? 0, (data.adjustInventory as { units: number }).units));
    };
  }
  const started = performance.now();
  try {
    const res = await w.client.post(query, vars, w.token);
    const ms = performance.now() - started;
    t.latencies.push(ms);
    t.writeLatencies.push(ms);
    bump(t.writeXCache, res.xCache);
    const data = res.json?.data;
    if (res.status !== 200 || !data || res.json?.errors?.length) return noteError(t, 'write', `HTTP ${res.status} ${JSON.stringify(res.json?.errors ?? '').slice(0, 200)}`);
    ack(data);
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

async function setup(start: MixedStart): Promise<Workload> {
  const client = new GqlClient(start.port, start.concurrency);
  const hospitals = (await client.data('{ hospitals { id region } }')).hospitals as { id: string; region: string }[];
  const hospitalIds = hospitals.map((h) => h.id).sort((a, b) => Number(a) - Number(b));
  const regionNames = [...new Set(hospitals.map((h) => h.region))].sort();
  const regions: (string | null)[] = [null, ...regionNames];
  return {
    client,
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
  process.on('message', (msg: MixedStart | MixedRun) => {
    const work =
      msg.type === 'start'
        ? setup(msg).then((w) => {
            workload = w;
            toParent({ type: 'ready', hospitals: w.hospitalIds.length, regions: w.regions.filter((r): r is string => r !== null) });
          })
        : run(workload!, msg, workload!.start.seed + ++runs).then(toParent);
    work.catch((err: unknown) => toParent({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
}
