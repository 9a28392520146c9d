// Input rules as pure functions: each returns the cleaned value or throws BAD_USER_INPUT naming the field.
import { badInput } from './errors.js';

export function text(field: string, value: string, { min = 1, max = 200 } = {}): string {
  const v = value.trim();
  if (v.length < min || v.length > max) {
    throw badInput(`${field} must be ${min} to ${max} characters long (got ${v.length}).`, field);
  }
  // Control characters in names end up in logs and UIs; refuse them.
  if (/[\u0000-\u001f\u007f]/.test(v)) throw badInput(`${field} must not contain control characters.`, field);
  return v;
}

export function intRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badInput(`${field} must be an integer from ${min} to ${max}, got ${value}.`, field);
  }
  return value;
}

export function email(field: string, value: string): string {
  const v = value.trim().toLowerCase();
  if (v.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) throw badInput(`${field} is not a valid email address.`, field);
  return v;
}

export function phone(field: string, value: string): string {
  const v = value.trim();
  if (!/^\+?[0-9 ()-]{5,32}$/.test(v)) throw badInput(`${field} must be a phone number of 5 to 32 digits, spaces, (), - and an optional leading +.`, field);
  return v;
}

export function password(field: string, value: string): string {
  if (value.length < 8 || value.length > 128) throw badInput(`${field} must be 8 to 128 characters long.`, field);
  return value;
}
