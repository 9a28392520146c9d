// What of blood requests is cached: each request, bloodRequests(status, urgency, region) pages
// and a hospital's requests(status). The region is the hospital's, so a write names it too.
import { defineEntity, defineList } from '../../cache/declare.js';
import { bloodRequests, type BloodRequestRow } from '../../db/schema.js';

export type BloodRequestView = BloodRequestRow & { region: string };

export const bloodRequestCache = defineEntity<BloodRequestView>({ type: 'BloodRequest', table: bloodRequests });

export const bloodRequestsList = defineList<BloodRequestView, BloodRequestRow>({
  name: 'bloodRequests',
  of: bloodRequestCache,
  filters: [
    { name: 'status', of: (r) => r.status, optional: true },
    { name: 'urgency', of: (r) => r.urgency, optional: true },
    { name: 'region', of: (r) => r.region, optional: true },
  ],
  params: ['limit', 'after'],
});

export const requestsByHospitalList = defineList<BloodRequestView, BloodRequestRow>({
  name: 'requestsByHospital',
  of: bloodRequestCache,
  filters: [
    { name: 'hospital', of: (r) => r.hospitalId },
    { name: 'status', of: (r) => r.status, optional: true },
  ],
});

export const bloodRequestDeclarations = [bloodRequestCache, bloodRequestsList, requestsByHospitalList];
