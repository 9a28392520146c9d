// The one typed map of pub/sub topics: each topic's name and the payload its events carry.
// Publishers, engines and subscribers all take their types from here.
import type { BloodRequestRow, DashboardStatsRow, DonationRow, DonorProfile, HospitalRow, InventoryRow } from '../db/schema.js';

export interface TopicMap {
  /** A hospital's stock of one blood group changed. Ordered per (hospital, group). */
  inventoryChanged: { item: InventoryRow; hospital: HospitalRow };
  /** A blood request was created, fulfilled (partly) or cancelled. Ordered per request. */
  bloodRequestChanged: { request: BloodRequestRow; hospital: HospitalRow };
  /** A donation was recorded, with its donor as of that commit. */
  donationRecorded: { donation: DonationRow; donor: DonorProfile; hospital: HospitalRow };
  /** Something the dashboard totals count changed; a signal, the totals are recomputed. */
  dashboardStatsUpdated: Record<string, never>;
  /** A session was signed out; internal (closes that session's WebSockets on every instance). */
  sessionRevoked: { sessionId: string };
}

export type Topic = keyof TopicMap;

/** Topics whose subscribers get recomputed snapshots (coalesced) rather than the events themselves. */
export interface SnapshotMap {
  dashboardStatsUpdated: DashboardStatsRow;
}

export const TOPICS: readonly Topic[] = Object.freeze([
  'inventoryChanged',
  'bloodRequestChanged',
  'donationRecorded',
  'dashboardStatsUpdated',
  'sessionRevoked',
] satisfies Topic[]);

export const isTopic = (value: string): value is Topic => (TOPICS as readonly string[]).includes(value);

// ---- payload codec -------------------------------------------------------------------------
// Payloads are rows with Date columns. JSON would turn them into strings that resolvers
// (e.g. eligibility) cannot use, so Dates travel tagged and come back as Dates.

const DATE_TAG = '$date';

export function encodePayload(payload: unknown): string {
  return JSON.stringify(payload, function (this: Record<string, unknown>, key, value) {
    // `value` has already been through Date#toJSON; the holder still has the Date itself.
    const raw = this[key];
    return raw instanceof Date ? { [DATE_TAG]: raw.toISOString() } : value;
  });
}

export function decodePayload<T>(text: string): T {
  return JSON.parse(text, (_key, value) => {
    if (value !== null && typeof value === 'object' && typeof value[DATE_TAG] === 'string' && Object.keys(value).length === 1) {
      return new Date(value[DATE_TAG]);
    }
    return value;
  }) as T;
}
