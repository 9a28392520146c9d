import { sql } from 'drizzle-orm';
import type { DomainEvent } from '../../after-commit.js';
import { bloodRequests, hospitals, inventory, type BloodGroup, type BloodRequestRow, type Urgency } from '../../db/schema.js';
import { decodeRow, parseJson, type JsonRow } from '../../db/row-json.js';
import { refuse, type OneWrite } from '../../write.js';
import { rowJson } from '../../write-statement.js';
import { inventoryItemCache } from '../inventory/cache.js';
import { bloodRequestCache } from './cache.js';

// A request's lists include its hospital's region: each change carries it.
const region = { region: sql`h.region` };
const json = (value: unknown) => parseJson<JsonRow>(value);

/** The request as committed and the dashboard it moves. */
const requestEvents = (request: BloodRequestRow, row: JsonRow, version: string): DomainEvent[] => [
  { topic: 'bloodRequestChanged', request, hospital: decodeRow(hospitals, json(row.hospital)), version },
  { topic: 'dashboardStatsUpdated' },
];

/** One statement: inserted only when the hospital exists. */
export function createBloodRequest(input: { hospitalId: number; bloodGroup: BloodGroup; unitsNeeded: number; urgency: Urgency }): OneWrite<BloodRequestRow> {
  return {
    with: sql`h AS (SELECT * FROM hospitals WHERE id = ${input.hospitalId}),
      ins AS (INSERT INTO blood_requests (hospital_id, blood_group, units_needed, urgency)
        SELECT h.id, ${input.bloodGroup}::blood_group, ${input.unitsNeeded}::int, ${input.urgency}::urgency FROM h RETURNING *)`,
    changes: [{ entity: bloodRequestCache, from: sql`ins CROSS JOIN h`, before: null, after: rowJson(bloodRequestCache, 'ins', region) }],
    select: sql`(SELECT to_jsonb(h) FROM h) AS hospital, (SELECT to_jsonb(ins) FROM ins) AS value`,
    decide({ row, commitOrder }) {
      if (row.value == null) return refuse('not-found', `Hospital ${input.hospitalId} does not exist.`);
      const request = decodeRow(bloodRequests, json(row.value));
      return { ok: true, value: request, events: requestEvents(request, row, commitOrder) };
    },
  };
}

/**
 * Allocates `units` from the hospital's stock to an OPEN request, in one statement: the request
 * and the stock row are locked (in that order, as every writer of both takes them), every rule
 * is checked on those locked versions, and only when all hold are both updated. Otherwise
 * nothing changes.
 */
export function fulfillBloodRequest(id: number, units: number): OneWrite<BloodRequestRow> {
  return {
    with: sql`old AS (SELECT * FROM blood_requests WHERE id = ${id} FOR UPDATE),
      h AS (SELECT hospitals.* FROM hospitals JOIN old ON hospitals.id = old.hospital_id),
      stock_old AS (SELECT i.* FROM inventory i JOIN old ON i.hospital_id = old.hospital_id AND i.blood_group = old.blood_group FOR UPDATE OF i),
      allowed AS (SELECT 1 FROM old JOIN stock_old ON true
        WHERE old.status = 'OPEN' AND old.units_fulfilled + ${units}::int <= old.units_needed AND stock_old.units >= ${units}::int),
      upd AS (UPDATE blood_requests r SET units_fulfilled = r.units_fulfilled + ${units}::int,
          status = CASE WHEN r.units_fulfilled + ${units}::int = r.units_needed THEN 'FULFILLED'::request_status ELSE r.status END
        FROM old, allowed WHERE r.id = old.id RETURNING r.*),
      stock AS (UPDATE inventory i SET units = i.units - ${units}::int, updated_at = now() FROM stock_old, allowed
        WHERE i.hospital_id = stock_old.hospital_id AND i.blood_group = stock_old.blood_group RETURNING i.*)`,
    changes: [
      { entity: bloodRequestCache, from: sql`old JOIN upd ON upd.id = old.id CROSS JOIN h`, before: rowJson(bloodRequestCache, 'old', region), after: rowJson(bloodRequestCache, 'upd', region) },
      {
        entity: inventoryItemCache,
        from: sql`stock_old JOIN stock USING (hospital_id, blood_group) CROSS JOIN h`,
        before: rowJson(inventoryItemCache, 'stock_old', region),
        after: rowJson(inventoryItemCache, 'stock', region),
      },
    ],
    select: sql`(SELECT to_jsonb(old) FROM old) AS old, (SELECT to_jsonb(upd) FROM upd) AS value,
      (SELECT to_jsonb(stock) FROM stock) AS stock, (SELECT to_jsonb(h) FROM h) AS hospital`,
    decide({ row, commitOrder }) {
      if (row.value == null) {
        if (row.old == null) return refuse('not-found', `BloodRequest ${id} does not exist.`);
        const current = decodeRow(bloodRequests, json(row.old));
        if (current.status !== 'OPEN') return refuse('not-open', `BloodRequest ${id} is ${current.status}; only OPEN requests can be fulfilled.`);
        const remaining = current.unitsNeeded - current.unitsFulfilled;
        if (units > remaining) return refuse('too-many', `BloodRequest ${id} needs only ${remaining} more units, not ${units}.`);
        return refuse('insufficient-stock', `Not enough ${current.bloodGroup} in the hospital's stock to allocate ${units} units.`);
      }
      const request = decodeRow(bloodRequests, json(row.value));
      const item = decodeRow(inventory, json(row.stock));
      const events = requestEvents(request, row, commitOrder);
      // The request and the stock move in one commit: one version for both.
      return { ok: true, value: request, events: [...events, { topic: 'inventoryChanged', item, hospital: decodeRow(hospitals, json(row.hospital)), version: commitOrder }] };
    },
  };
}

/** One statement: the locked request is cancelled only while OPEN. */
export function cancelBloodRequest(id: number): OneWrite<BloodRequestRow> {
  return {
    with: sql`old AS (SELECT * FROM blood_requests WHERE id = ${id} FOR UPDATE),
      h AS (SELECT hospitals.* FROM hospitals JOIN old ON hospitals.id = old.hospital_id),
      upd AS (UPDATE blood_requests r SET status = 'CANCELLED' FROM old WHERE r.id = old.id AND old.status = 'OPEN' RETURNING r.*)`,
    changes: [{ entity: bloodRequestCache, from: sql`old JOIN upd ON upd.id = old.id CROSS JOIN h`, before: rowJson(bloodRequestCache, 'old', region), after: rowJson(bloodRequestCache, 'upd', region) }],
    select: sql`(SELECT to_jsonb(old) FROM old) AS old, (SELECT to_jsonb(upd) FROM upd) AS value, (SELECT to_jsonb(h) FROM h) AS hospital`,
    decide({ row, commitOrder }) {
      if (row.value == null) {
        if (row.old == null) return refuse('not-found', `BloodRequest ${id} does not exist.`);
        return refuse('not-open', `BloodRequest ${id} is ${decodeRow(bloodRequests, json(row.old)).status}; only OPEN requests can be cancelled.`);
      }
      const request = decodeRow(bloodRequests, json(row.value));
      return { ok: true, value: request, events: requestEvents(request, row, commitOrder) };
    },
  };
}
