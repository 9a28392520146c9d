// One serialization format for every entry: a fixed-width header, then JSON.
//
//   <stamp: 24 chars><soft expiry ms: 13 digits>\n<payload>
//
// The stamp identifies one write; an L1 copy is current exactly while the L2
// entry still carries the same stamp (read with GETRANGE 0 23, no payload transfer).
// The soft expiry is when the entry turns stale (served only within the grace period).

import { randomBytes } from 'node:crypto';

export const STAMP_LENGTH = 24;
const EXPIRY_LENGTH = 13;
export const HEADER_LENGTH = STAMP_LENGTH + EXPIRY_LENGTH + 1;

let counter = 0;
const instanceId = randomBytes(4).toString('hex');

/** A stamp unique to one write: fill clock, instance, counter. */
export function newStamp(fence: number): string {
  counter = (counter + 1) % 0xffffff;
  return `${fence.toString(36).padStart(9, '0')}${instanceId}${counter.toString(36).padStart(7, '0')}`.slice(0, STAMP_LENGTH);
}

export interface DecodedEntry {
  stamp: string;
  softExpiresAt: number;
  payload: string;
}

export function encodeEntry(stamp: string, softExpiresAt: number, payload: string): string {
  return `${stamp}${String(Math.floor(softExpiresAt)).padStart(EXPIRY_LENGTH, '0')}\n${payload}`;
}

export function decodeEntry(raw: string | null | undefined): DecodedEntry | null {
  if (!raw || raw.length < HEADER_LENGTH || raw[HEADER_LENGTH - 1] !== '\n') return null;
  return {
    stamp: raw.slice(0, STAMP_LENGTH),
    softExpiresAt: Number(raw.slice(STAMP_LENGTH, STAMP_LENGTH + EXPIRY_LENGTH)),
    payload: raw.slice(HEADER_LENGTH),
  };
}

// Values are JSON with Dates tagged, so rows come back with Date fields intact.
const DATE_TAG = '$d';

export function serialize(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const raw = this[key];
    return raw instanceof Date ? { [DATE_TAG]: raw.getTime() } : v;
  });
}

export function deserialize<T>(text: string): T {
  return JSON.parse(text, (_key, v) =>
    v !== null && typeof v === 'object' && typeof v[DATE_TAG] === 'number' && Object.keys(v).length === 1 ? new Date(v[DATE_TAG]) : v,
  ) as T;
}
