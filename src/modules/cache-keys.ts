// The one module that names cached things. Tags say what an entry contains
// (`Type:id` for entities, list and aggregate tags for collections); keys say
// where an entry lives. Reads tag entries with exactly the tags writes invalidate,
// so both sides are built here, side by side.
import type { BloodGroup, BloodRequestRow, DonorRow } from '../db/schema.js';

export const entityTag = (type: string, id: string | number) => `${type}:${id}`;
export const inventoryItemTag = (hospitalId: number, bloodGroup: string) => `InventoryItem:${hospitalId}:${bloodGroup}`;
export const DASHBOARD_TAG = 'DashboardStats';

// Filters compare with `||`: an empty string filters nothing (the repositories treat it as unset),
// so it must name the same lists as an absent filter.

/** Stable cache key of a list read: its name and every argument that shapes it. */
export function listKey(name: string, params: Record<string, string | number | boolean | null | undefined>): string {
  return `${name}?${Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k] || '*'}`)
    .join('&')}`;
}

// ---- donors -------------------------------------------------------------------------------

export interface DonorListFilter {
  bloodGroup?: string | null;
  region?: string | null;
}
export const donorListTag = (f: DonorListFilter) => `Donor:list:bloodGroup=${f.bloodGroup || '*'}:region=${f.region || '*'}`;

/** Every donors(...) list a donor with these values appears in: each filter matches or is unset. */
export function donorListTags(d: Pick<DonorRow, 'bloodGroup' | 'region'>): string[] {
  return [null, d.bloodGroup].flatMap((bloodGroup) => [null, d.region].map((region) => donorListTag({ bloodGroup, region })));
}

/** A donor's profile changed (and maybe its region: it left one list and joined another). */
export function donorChangedTags(before: Pick<DonorRow, 'id' | 'bloodGroup' | 'region'>, after: Pick<DonorRow, 'region'>): string[] {
  return [...new Set([entityTag('Donor', before.id), ...donorListTags(before), ...donorListTags({ ...before, region: after.region })])];
}

export function newDonorTags(d: Pick<DonorRow, 'id' | 'bloodGroup' | 'region'>): string[] {
  return [entityTag('Donor', d.id), ...donorListTags(d), DASHBOARD_TAG];
}

// ---- hospitals and inventory ------------------------------------------------------------

export const hospitalListTag = (region?: string | null) => `Hospital:list:region=${region || '*'}`;
export const hospitalInventoryTag = (hospitalId: number) => `Inventory:hospital:${hospitalId}`;
export const availabilityTag = (bloodGroup: string, region?: string | null) =>
  region ? `Inventory:${bloodGroup}:region=${region}` : `Inventory:${bloodGroup}`;

/** Everything a stock change of one (hospital, group) moves: the item, its hospital's list, availability lists, the dashboard. */
export function inventoryTags(hospitalId: number, bloodGroup: BloodGroup, region: string): string[] {
  return [
    inventoryItemTag(hospitalId, bloodGroup),
    hospitalInventoryTag(hospitalId),
    availabilityTag(bloodGroup),
    availabilityTag(bloodGroup, region),
    DASHBOARD_TAG,
  ];
}

// ---- blood requests ------------------------------------------------------------------------

export interface BloodRequestListFilter {
  status?: string | null;
  urgency?: string | null;
  region?: string | null;
}

/** The tag of one bloodRequests(...) list: its exact filter values, '*' for unset. */
export function bloodRequestListTag(f: BloodRequestListFilter): string {
  return `BloodRequest:list:status=${f.status || '*'}:urgency=${f.urgency || '*'}:region=${f.region || '*'}`;
}
export const hospitalRequestsTag = (hospitalId: number) => `BloodRequest:hospital:${hospitalId}`;

/**
 * Every list a request appears in (and, after a status change, appeared in): each
 * filter either matches its value or is unset, 2^3 combinations per status. A list
 * filtered on another region or urgency is not touched.
 */
export function bloodRequestTags(
  req: Pick<BloodRequestRow, 'id' | 'status' | 'urgency' | 'hospitalId'>,
  region: string,
  previousStatus?: string,
): string[] {
  const tags = new Set<string>([entityTag('BloodRequest', req.id), hospitalRequestsTag(req.hospitalId), DASHBOARD_TAG]);
  for (const status of new Set([req.status, previousStatus ?? req.status, null]))
    for (const urgency of [req.urgency, null]) for (const r of [region, null]) tags.add(bloodRequestListTag({ status, urgency, region: r }));
  return [...tags];
}

// ---- campaigns and donations --------------------------------------------------------------

export const campaignListTag = (region?: string | null) => `Campaign:list:region=${region || '*'}`;

/** A campaign's entity and the lists it appears in (all campaigns, and its region's). */
export function campaignTags(id: number, region: string): string[] {
  return [entityTag('Campaign', id), campaignListTag(), campaignListTag(region)];
}

export const donationListTag = (parent: 'donor' | 'campaign', id: number) => `Donation:list:${parent}=${id}`;
