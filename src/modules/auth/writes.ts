import { donors, users, type BloodGroup, type DonorRow, type UserRow } from '../../db/schema.js';
import { anyChange } from '../../cache/declare.js';
import { refuse, type WriteOutcome, type WriteTx } from '../../write.js';
import { donorCache, profileOf } from '../donor/cache.js';

export interface RegisterValues {
  email: string;
  passwordHash: string;
  name: string;
  bloodGroup: BloodGroup;
  region: string;
  city: string;
  phone: string | null;
}

/** Creates the donor profile and its DONOR account together; refused when the email is taken. */
export async function registerDonor(tx: WriteTx, v: RegisterValues): Promise<WriteOutcome<{ user: UserRow; donor: DonorRow }>> {
  const [donor] = await tx
    .insert(donors)
    .values({ name: v.name, bloodGroup: v.bloodGroup, region: v.region, city: v.city, email: v.email, phone: v.phone })
    .returning();
  // The unique index decides races between two registrations of one email: the second waits for
  // the first to commit and then inserts nothing. The refusal rolls the donor row back too.
  const [user] = await tx
    .insert(users)
    .values({ email: v.email, passwordHash: v.passwordHash, role: 'DONOR', donorId: donor!.id })
    .onConflictDoNothing({ target: users.email })
    .returning();
  if (!user) return refuse('already-exists', 'An account with this email already exists.');
  return {
    ok: true,
    value: { user, donor: donor! },
    effects: { tags: donorCache.tagsOf(donor!), changes: [anyChange({ entity: donorCache, before: null, after: profileOf(donor!) })], events: [{ topic: 'dashboardStatsUpdated' }] },
  };
}
