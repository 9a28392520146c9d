// What of donors is cached: each donor's public profile, and donors(bloodGroup, region) pages.
import { defineEntity, defineList } from '../../cache/declare.js';
import { donors, type DonorProfile } from '../../db/schema.js';

export const donorCache = defineEntity<DonorProfile>({ type: 'Donor', table: donors, withhold: ['email', 'phone'], writeThrough: true });

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
