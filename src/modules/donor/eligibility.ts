/** Whole-blood donors must wait 56 days (8 weeks) between donations. */
export const DONATION_INTERVAL_DAYS = 56;
const DAY_MS = 86_400_000;

export function isEligible(lastDonationAt: Date | null, now: Date): boolean {
  return lastDonationAt === null || now.getTime() - lastDonationAt.getTime() >= DONATION_INTERVAL_DAYS * DAY_MS;
}

export function nextEligibleAt(lastDonationAt: Date | null): Date | null {
  return lastDonationAt && new Date(lastDonationAt.getTime() + DONATION_INTERVAL_DAYS * DAY_MS);
}

/** Points a donation earns: 10 per unit. */
export const pointsFor = (units: number) => units * 10;
