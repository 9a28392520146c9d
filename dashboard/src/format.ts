// Display helpers (pure).
import type { BloodGroup } from './state.js';

const GROUP_LABELS: Record<BloodGroup, string> = {
  A_POS: 'A+',
  A_NEG: 'A−',
  B_POS: 'B+',
  B_NEG: 'B−',
  AB_POS: 'AB+',
  AB_NEG: 'AB−',
  O_POS: 'O+',
  O_NEG: 'O−',
};

export const groupLabel = (g: BloodGroup): string => GROUP_LABELS[g];

const integer = new Intl.NumberFormat('en');
export const formatInt = (n: number): string => integer.format(n);

/** "just now", "4 min ago", "3 h ago", "2 d ago". */
export function ago(iso: string, now: Date): string {
  const s = Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** "ends in 5 h", "ends in 3 days", "ends today". */
export function endsIn(iso: string, now: Date): string {
  const h = (Date.parse(iso) - now.getTime()) / 3_600_000;
  if (h < 1) return 'ends within the hour';
  if (h < 24) return `ends in ${Math.round(h)} h`;
  const d = Math.round(h / 24);
  return `ends in ${d} day${d === 1 ? '' : 's'}`;
}

export const clock = (iso: string): string => new Date(iso).toLocaleTimeString('en-GB', { hour12: false });

/** A round axis maximum a little above `max`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceCeil(max: number): number {
  if (max <= 0) return 10;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}
