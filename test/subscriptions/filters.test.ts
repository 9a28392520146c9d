// The server-side filters are pure functions of the event's rows: tested without I/O.
import type { BloodRequestRow, DonationRow, HospitalRow, InventoryRow } from '../../src/db/schema.js';
import { bloodRequestFilter } from '../../src/modules/blood-request/subscriptions.js';
import { donationFilter } from '../../src/modules/donation/subscriptions.js';
import { inventoryFilter } from '../../src/modules/inventory/subscriptions.js';
import { encodeEventId, parseAfter } from '../../src/pubsub/live.js';
import { decodePayload, encodePayload } from '../../src/pubsub/topics.js';

const hospital: HospitalRow = { id: 1, name: 'H', region: 'North', city: 'Northgate' };
const item: InventoryRow = { hospitalId: 1, bloodGroup: 'O_NEG', units: 3, updatedAt: new Date() };
const request = (urgency: BloodRequestRow['urgency']): BloodRequestRow => ({
  id: 1, hospitalId: 1, bloodGroup: 'A_POS', unitsNeeded: 2, unitsFulfilled: 0, urgency, status: 'OPEN', createdAt: new Date(),
});

test('inventoryFilter: bloodGroup and region each match or are unset', () => {
  expect(inventoryFilter({})({ item, hospital })).toBe(true);
  expect(inventoryFilter({ bloodGroup: 'O_NEG', region: 'North' })({ item, hospital })).toBe(true);
  expect(inventoryFilter({ bloodGroup: 'O_POS' })({ item, hospital })).toBe(false);
  expect(inventoryFilter({ region: 'South' })({ item, hospital })).toBe(false);
  expect(inventoryFilter({ region: 'north' })({ item, hospital })).toBe(false); // exact, as in queries
});

test('bloodRequestFilter: minUrgency keeps that urgency and above', () => {
  const f = bloodRequestFilter({ minUrgency: 'URGENT' });
  expect(['ROUTINE', 'URGENT', 'EMERGENCY'].map((u) => f({ request: request(u as never), hospital }))).toEqual([false, true, true]);
  expect(bloodRequestFilter({ region: 'South' })({ request: request('EMERGENCY'), hospital })).toBe(false);
  expect(bloodRequestFilter({})({ request: request('ROUTINE'), hospital })).toBe(true);
});

test('donationFilter: one campaign, or all', () => {
  const donation = { id: 1, campaignId: 4 } as DonationRow;
  expect(donationFilter(4)({ donation, donor: {} as never, hospital })).toBe(true);
  expect(donationFilter(5)({ donation, donor: {} as never, hospital })).toBe(false);
  expect(donationFilter(null)({ donation: { ...donation, campaignId: null }, donor: {} as never, hospital })).toBe(true);
});

test('event ids are opaque, bound to their topic, and round-trip', () => {
  const id = encodeEventId('inventoryChanged', '1732233600000-3');
  expect(id).not.toContain('inventoryChanged');
  expect(parseAfter('inventoryChanged', id)).toBe('1732233600000-3');
  expect(parseAfter('inventoryChanged', null)).toBeNull();
  expect(() => parseAfter('donationRecorded', id)).toThrow(/after must be an eventId/);
  expect(() => parseAfter('inventoryChanged', 'x'.repeat(200))).toThrow();
});

test('payload codec keeps Dates as Dates, nested too', () => {
  const at = new Date('2026-11-22T10:00:00.123Z');
  const back = decodePayload<{ a: { at: Date; n: null; s: string } }>(encodePayload({ a: { at, n: null, s: '2026-11-22T10:00:00.123Z' } }));
  expect(back.a.at).toEqual(at);
  expect(back.a.at).toBeInstanceOf(Date);
  expect(back.a.s).toBe('2026-11-22T10:00:00.123Z'); // strings stay strings
});
