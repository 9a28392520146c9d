// What of donors is cached: each donor's public profile, and donors(bloodGroup, region) pages.
import { defineEntity, defineList } from '../../cache/declare.js';
import { donors, type DonorProfile, type DonorRow } from '../../db/schema.js';

export const donorCache = defineEntity<DonorProfile>({ type: 'Donor', table: donors, withhold: ['email', 'phone'], writeThrough: true });

/** A donor row as shared caches hold it: without the contact fields the declaration withholds. */
export function profileOf(row: DonorRow): DonorProfile {
  const { email: _email, phone: _phone, ...profile } = row;
  return profile;
}

export const donorsList = defineList({
  name: 'donors',
  of: donorCache,
  filters: [
    { name: 'bloodGroup', of: (d) => d.bloodGroup, optional: true },
    { name: 'region', of: (d) => d.region, optional: true },
  ],
  params: ['limit', 'after'],
});

export const donorDeclarations = [donorCache, donorsList];
