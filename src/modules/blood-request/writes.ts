import { and, eq, sql } from 'drizzle-orm';
import { commitOrder, type DomainEvent } from '../../after-commit.js';
import type { Executor } from '../../db/client.js';
import { bloodRequests, hospitals, type BloodGroup, type BloodRequestRow, type HospitalRow, type InventoryRow, type Urgency } from '../../db/schema.js';
import { changeStock } from '../inventory/writes.js';
import { refuse, type WriteOutcome, type WriteTx } from '../../write.js';
import { inventoryItemCache } from '../inventory/cache.js';
import { bloodRequestCache } from './cache.js';

/** The request as committed and the dashboard it moves; called last in the transaction (see commitOrder). */
const requestEvents = async (tx: Executor, request: BloodRequestRow, hospital: HospitalRow, version?: string): Promise<DomainEvent[]> => [
  { topic: 'bloodRequestChanged', request, hospital, version: version ?? (await commitOrder(tx)) },
  { topic: 'dashboardStatsUpdated' },
];

/** A fulfilment moves the request and the hospital's stock in one commit: one version for both. */
async function fulfilmentEvents(tx: Executor, request: BloodRequestRow, stock: InventoryRow, hospital: HospitalRow): Promise<DomainEvent[]> {
  const version = await commitOrder(tx);
  return [...(await requestEvents(tx, request, hospital, version)), { topic: 'inventoryChanged', item: stock, hospital, version }];
}

export async function createBloodRequest(
  tx: WriteTx,
  input: { hospitalId: number; bloodGroup: BloodGroup; unitsNeeded: number; urgency: Urgency },
): Promise<WriteOutcome<BloodRequestRow>> {
  const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, input.hospitalId));
  if (!hospital) return refuse('not-found', `Hospital ${input.hospitalId} does not exist.`);
  const [row] = await tx.insert(bloodRequests).values(input).returning();
  return { ok: true, value: row!, effects: { tags: bloodRequestCache.tagsOf({ ...row!, region: hospital.region }), events: await requestEvents(tx, row!, hospital) } };
}

/**
 * Allocates `units` from the hospital's stock to an OPEN request, in one transaction:
 * 1. a conditional update of the request (still OPEN, not past unitsNeeded) that also
 *    locks it, so two concurrent fulfilments of one request serialise;
 * 2. a conditional decrement of stock (never below zero).
 * If either condition fails the transaction rolls back and nothing changes.
 */
export async function fulfillBloodRequest(tx: WriteTx, id: number, units: number): Promise<WriteOutcome<BloodRequestRow>> {
  const [updated] = await tx
    .update(bloodRequests)
    .set({
      unitsFulfilled: sql`${bloodRequests.unitsFulfilled} + ${units}`,
      status: sql`CASE WHEN ${bloodRequests.unitsFulfilled} + ${units} = ${bloodRequests.unitsNeeded} THEN 'FULFILLED'::request_status ELSE ${bloodRequests.status} END`,
    })
    .where(
      and(
        eq(bloodRequests.id, id),
        eq(bloodRequests.status, 'OPEN'),
        sql`${bloodRequests.unitsFulfilled} + ${units} <= ${bloodRequests.unitsNeeded}`,
      ),
    )
    .returning();
  if (!updated) {
    const [current] = await tx.select().from(bloodRequests).where(eq(bloodRequests.id, id));
    if (!current) return refuse('not-found', `BloodRequest ${id} does not exist.`);
    if (current.status !== 'OPEN') return refuse('not-open', `BloodRequest ${id} is ${current.status}; only OPEN requests can be fulfilled.`);
    const remaining = current.unitsNeeded - current.unitsFulfilled;
    return refuse('too-many', `BloodRequest ${id} needs only ${remaining} more units, not ${units}.`);
  }
  const stock = await changeStock(tx, updated.hospitalId, updated.bloodGroup, -units);
  // A refusal rolls back the request update as well (write() rolls back every refusal).
  if (!stock) return refuse('insufficient-stock', `Not enough ${updated.bloodGroup} in the hospital's stock to allocate ${units} units.`);
  const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, updated.hospitalId));
  const region = hospital!.region;
  return {
    ok: true,
    value: updated,
    effects: {
      tags: [...bloodRequestCache.tagsOf({ ...updated, region }, { ...updated, region, status: 'OPEN' }), ...inventoryItemCache.tagsOf({ ...stock, region })],
      events: await fulfilmentEvents(tx, updated, stock, hospital!),
    },
  };
}

export async function cancelBloodRequest(tx: WriteTx, id: number): Promise<WriteOutcome<BloodRequestRow>> {
  const [updated] = await tx
    .update(bloodRequests)
    .set({ status: 'CANCELLED' })
    .where(and(eq(bloodRequests.id, id), eq(bloodRequests.status, 'OPEN')))
    .returning();
  if (!updated) {
    const [current] = await tx.select().from(bloodRequests).where(eq(bloodRequests.id, id));
    if (!current) return refuse('not-found', `BloodRequest ${id} does not exist.`);
    return refuse('not-open', `BloodRequest ${id} is ${current.status}; only OPEN requests can be cancelled.`);
  }
  const [hospital] = await tx.select().from(hospitals).where(eq(hospitals.id, updated.hospitalId));
  return {
    ok: true,
    value: updated,
    effects: { tags: bloodRequestCache.tagsOf({ ...updated, region: hospital!.region }, { ...updated, region: hospital!.region, status: 'OPEN' }), events: await requestEvents(tx, updated, hospital!) },
  };
}
