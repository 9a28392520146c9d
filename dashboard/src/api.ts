// The page's one query and its three subscriptions. Fields match state.ts's types.
import type { Campaign, EmergencyRequest, Snapshot, Stats } from './state.js';

const STATS = 'totalDonors totalUnitsCollected openRequests pendingEmergencyRequests inventory { bloodGroup units } generatedAt';
const REQUEST = 'id bloodGroup unitsNeeded unitsFulfilled urgency status createdAt hospital { name city region }';
const CAMPAIGN = 'id title region startsAt endsAt goalUnits collectedUnits hospital { name }';

/** Everything the page shows, in one request. */
export const DASHBOARD_QUERY = `query Dashboard {
  dashboardStats { ${STATS} }
  bloodRequests(status: OPEN, urgency: EMERGENCY, first: 50) { nodes { ${REQUEST} } }
  campaigns(activeOnly: true) { ${CAMPAIGN} }
}`;

/** Each takes `$after` (the last eventId seen) so a reconnect resumes where it stopped. */
export const STATS_SUBSCRIPTION = `subscription DashboardStats($after: String) {
  dashboardStatsUpdated(after: $after) { ${STATS} }
}`;
export const EMERGENCIES_SUBSCRIPTION = `subscription Emergencies($after: String) {
  bloodRequestChanged(minUrgency: EMERGENCY, after: $after) { ${REQUEST} }
}`;
export const DONATIONS_SUBSCRIPTION = `subscription Donations($after: String) {
  donationRecorded(after: $after) { id campaign { ${CAMPAIGN} } }
}`;

export interface StatsEvent {
  dashboardStatsUpdated: Stats;
}
export interface RequestEvent {
  bloodRequestChanged: EmergencyRequest;
}
export interface DonationEvent {
  donationRecorded: { id: string; campaign: Campaign | null };
}

export class GraphQLRequestError extends Error {}

/**
 * POST, not GET: a GET would let the browser's HTTP cache answer from a copy up to max-age
 * old (the server's cache is invalidated on every write; the browser's is not).
 */
export async function fetchSnapshot(endpoint: string, signal?: AbortSignal): Promise<Snapshot> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query: DASHBOARD_QUERY, operationName: 'Dashboard' }),
    signal,
  });
  let body: { data?: Snapshot | null; errors?: { message: string }[] };
  try {
    body = await res.json();
  } catch {
    throw new GraphQLRequestError(`The server answered HTTP ${res.status} without GraphQL.`);
  }
  if (body.errors?.length) throw new GraphQLRequestError(body.errors.map((e) => e.message).join('; '));
  if (!body.data) throw new GraphQLRequestError(`No data (HTTP ${res.status}).`);
  return body.data;
}
