import type { BloodRequestRow } from '../../db/schema.js';

export interface BloodRequestListFilter {
  status?: string | null;
  urgency?: string | null;
  region?: string | null;
}

/** The tag of one cached bloodRequests(...) list: its exact filter values, '*' for unset. */
export function bloodRequestListTag(f: BloodRequestListFilter): string {
  return `BloodRequest:list:status=${f.status ?? '*'}:urgency=${f.urgency ?? '*'}:region=${f.region ?? '*'}`;
}

/**
 * Every list a request appears in: each filter either matches its value or is unset,
 * 2^3 combinations. A list filtered on another region is not touched.
 */
export function bloodRequestTags(req: Pick<BloodRequestRow, 'id' | 'status' | 'urgency' | 'hospitalId'>, region: string, previousStatus?: string): string[] {
  const statuses = [...new Set([req.status, previousStatus ?? req.status])];
  const tags = new Set<string>([`BloodRequest:${req.id}`, `BloodRequest:hospital:${req.hospitalId}`, 'DashboardStats']);
  for (const status of [...statuses, null])
    for (const urgency of [req.urgency, null])
      for (const r of [region, null]) tags.add(bloodRequestListTag({ status, urgency, region: r }));
  return [...tags];
}
