import type { Db } from '../../db/client.js';
import { donors, users, type BloodGroup, type DonorRow, type UserRow } from '../../db/schema.js';

export interface RegisterValues {
  email: string;
  passwordHash: string;
  name: string;
  bloodGroup: BloodGroup;
  region: string;
  city: string;
  phone: string | null;
}

/** Creates the donor profile and its DONOR account together; null when the email is taken. */
export async function registerDonor(db: Db, v: RegisterValues): Promise<{ user: UserRow; donor: DonorRow } | null> {
  try {
    return await db.transaction(async (tx) => {
      const [donor] = await tx
        .insert(donors)
        .values({ name: v.name, bloodGroup: v.bloodGroup, region: v.region, city: v.city, email: v.email, phone: v.phone })
        .returning();
      const [user] = await tx
        .insert(users)
        .values({ email: v.email, passwordHash: v.passwordHash, role: 'DONOR', donorId: donor!.id })
        .returning();
      return { user: user!, donor: donor! };
    });
  } catch (err) {
    // The unique index decides races between two registrations of one email.
    if (isUniqueViolation(err)) return null;
    throw err;
  }
}

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === '23505') return true;
  }
  return false;
}
