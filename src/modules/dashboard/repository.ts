import { sql } from 'drizzle-orm';
import { rows, type Executor } from '../../db/client.js';
import { bloodGroupEnum, type DashboardStatsRow } from '../../db/schema.js';

/** All dashboard totals in one statement. */
export async function dashboardStats(db: Executor, now: Date): Promise<DashboardStatsRow> {
  const [row] = await rows<{
    totalDonors: number;
    totalUnitsCollected: number;
    openRequests: number;
    pendingEmergencyRequests: number;
    inventory: { bloodGroup: DashboardStatsRow['inventory'][number]['bloodGroup']; units: number }[] | string | null;
  }>(
    db,
    sql`SELECT
      (SELECT count(*)::int FROM donors) AS "totalDonors",
      (SELECT coalesce(sum(units), 0)::int FROM donations) AS "totalUnitsCollected",
      (SELECT count(*)::int FROM blood_requests WHERE status = 'OPEN') AS "openRequests",
      (SELECT count(*)::int FROM blood_requests WHERE status = 'OPEN' AND urgency = 'EMERGENCY') AS "pendingEmergencyRequests",
      (SELECT json_agg(json_build_object('bloodGroup', blood_group, 'units', units))
         FROM (SELECT blood_group, sum(units)::int AS units FROM inventory GROUP BY blood_group) g) AS "inventory"`,
  );
  const raw = typeof row!.inventory === 'string' ? JSON.parse(row!.inventory) : (row!.inventory ?? []);
  const units = new Map<string, number>(raw.map((g: { bloodGroup: string; units: number }) => [g.bloodGroup, g.units]));
  return {
    totalDonors: row!.totalDonors,
    totalUnitsCollected: row!.totalUnitsCollected,
    openRequests: row!.openRequests,
    pendingEmergencyRequests: row!.pendingEmergencyRequests,
    // Every group, in enum order, even those with no stock row yet.
    inventory: bloodGroupEnum.enumValues.map((bloodGroup) => ({ bloodGroup, units: units.get(bloodGroup) ?? 0 })),
    generatedAt: now,
  };
}
