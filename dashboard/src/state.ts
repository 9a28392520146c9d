// The page's state and the pure rules that fold query results and subscription events into it.
//
// Every input is a snapshot of server state, never a delta, and every rule is a monotonic merge
// (newest stats by generatedAt; a closed request never reopens; campaign totals only grow). So
// the result does not depend on the order inputs arrive in, nor on seeing one twice: an event
// replayed after a reconnect, or a query answer that overtakes an event, cannot move the page
// back in time. No DOM here (tested in Node: test/dashboard/state.test.ts).

export type BloodGroup = 'A_POS' | 'A_NEG' | 'B_POS' | 'B_NEG' | 'AB_POS' | 'AB_NEG' | 'O_POS' | 'O_NEG';
export type Urgency = 'ROUTINE' | 'URGENT' | 'EMERGENCY';
export type RequestStatus = 'OPEN' | 'FULFILLED' | 'CANCELLED';

/** In the schema's enum order. */
export const BLOOD_GROUPS: readonly BloodGroup[] = ['A_POS', 'A_NEG', 'B_POS', 'B_NEG', 'AB_POS', 'AB_NEG', 'O_POS', 'O_NEG'];

export interface Stats {
  totalDonors: number;
  totalUnitsCollected: number;
  openRequests: number;
  pendingEmergencyRequests: number;
  inventory: { bloodGroup: BloodGroup; units: number }[];
  /** ISO time the server computed these totals. */
  generatedAt: string;
}

export interface EmergencyRequest {
  id: string;
  bloodGroup: BloodGroup;
  unitsNeeded: number;
  unitsFulfilled: number;
  urgency: Urgency;
  status: RequestStatus;
  createdAt: string;
  hospital: { name: string; city: string; region: string };
}

export interface Campaign {
  id: string;
  title: string;
  region: string;
  startsAt: string;
  endsAt: string;
  goalUnits: number;
  collectedUnits: number;
  hospital: { name: string };
}

/** The page query's answer (see api.ts). */
export interface Snapshot {
  dashboardStats: Stats;
  bloodRequests: { nodes: EmergencyRequest[] };
  campaigns: Campaign[];
}

export interface DashboardState {
  stats: Stats | null;
  requests: ReadonlyMap<string, EmergencyRequest>;
  /** Ids of requests seen FULFILLED or CANCELLED: a later-arriving older copy never brings them back. */
  closed: ReadonlySet<string>;
  campaigns: ReadonlyMap<string, Campaign>;
}

export const emptyState = (): DashboardState => ({ stats: null, requests: new Map(), closed: new Set(), campaigns: new Map() });

/** Bounds the closed-request memory of a page left open for weeks. */
const MAX_CLOSED = 5000;

const isOpenEmergency = (r: EmergencyRequest) => r.status === 'OPEN' && r.urgency === 'EMERGENCY';
const time = (iso: string) => Date.parse(iso);

export function applyStats(state: DashboardState, stats: Stats): DashboardState {
  if (state.stats && time(stats.generatedAt) < time(state.stats.generatedAt)) return state;
  return { ...state, stats };
}

export function applyRequest(state: DashboardState, request: EmergencyRequest): DashboardState {
  if (!isOpenEmergency(request)) {
    if (!state.requests.has(request.id) && state.closed.has(request.id)) return state;
    const requests = new Map(state.requests);
    requests.delete(request.id);
    return { ...state, requests, closed: remember(state.closed, request.id) };
  }
  if (state.closed.has(request.id)) return state;
  const known = state.requests.get(request.id);
  const requests = new Map(state.requests);
  requests.set(request.id, known ? { ...request, unitsFulfilled: Math.max(known.unitsFulfilled, request.unitsFulfilled) } : request);
  return { ...state, requests };
}

/** A recorded donation carries its campaign's new total. */
export function applyCampaign(state: DashboardState, campaign: Campaign, now: Date): DashboardState {
  const known = state.campaigns.get(campaign.id);
  if (!known && !isRunning(campaign, now)) return state;
  const campaigns = new Map(state.campaigns);
  campaigns.set(campaign.id, known ? { ...campaign, collectedUnits: Math.max(known.collectedUnits, campaign.collectedUnits) } : campaign);
  return { ...state, campaigns };
}

/**
 * The page query's answer. It is the whole truth as of its time for what it lists: open
 * emergencies it does not list were closed (or are beyond its page), unless created after its
 * totals were computed, i.e. known from an event it could not have seen yet.
 */
export function applySnapshot(state: DashboardState, snapshot: Snapshot): DashboardState {
  let next = applyStats(state, snapshot.dashboardStats);
  const asOf = time(snapshot.dashboardStats.generatedAt);
  const listed = new Set(snapshot.bloodRequests.nodes.map((r) => r.id));
  const requests = new Map<string, EmergencyRequest>();
  for (const [id, r] of next.requests) if (!listed.has(id) && time(r.createdAt) > asOf) requests.set(id, r);
  next = { ...next, requests };
  for (const r of snapshot.bloodRequests.nodes) {
    const known = state.requests.get(r.id);
    next = applyRequest(next, known ? { ...r, unitsFulfilled: Math.max(known.unitsFulfilled, r.unitsFulfilled) } : r);
  }
  const campaigns = new Map<string, Campaign>();
  for (const c of snapshot.campaigns) {
    const known = state.campaigns.get(c.id);
    campaigns.set(c.id, known ? { ...c, collectedUnits: Math.max(known.collectedUnits, c.collectedUnits) } : c);
  }
  return { ...next, campaigns };
}

/** Newest first (ties: higher id first), at most `limit`. */
export function openEmergencies(state: DashboardState, limit = 20): EmergencyRequest[] {
  return [...state.requests.values()]
    .sort((a, b) => time(b.createdAt) - time(a.createdAt) || Number(b.id) - Number(a.id) || (b.id > a.id ? 1 : -1))
    .slice(0, limit);
}

/** Running now, ending soonest first. */
export function activeCampaigns(state: DashboardState, now: Date): Campaign[] {
  return [...state.campaigns.values()].filter((c) => isRunning(c, now)).sort((a, b) => time(a.endsAt) - time(b.endsAt) || a.title.localeCompare(b.title));
}

export function unitsByGroup(stats: Stats | null): Map<BloodGroup, number> {
  const units = new Map<BloodGroup, number>(BLOOD_GROUPS.map((g) => [g, 0]));
  for (const item of stats?.inventory ?? []) units.set(item.bloodGroup, item.units);
  return units;
}

function isRunning(c: Campaign, now: Date): boolean {
  return time(c.startsAt) <= now.getTime() && now.getTime() < time(c.endsAt);
}

function remember(closed: ReadonlySet<string>, id: string): ReadonlySet<string> {
  const next = new Set(closed);
  next.add(id);
  if (next.size > MAX_CLOSED) next.delete(next.values().next().value as string);
  return next;
}
