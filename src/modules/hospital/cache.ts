// What of hospitals is cached: each hospital, and hospitals(region).
import { defineEntity, defineList } from '../../cache/declare.js';
import { hospitals, type HospitalRow } from '../../db/schema.js';

export const hospitalCache = defineEntity<HospitalRow>({ type: 'Hospital', table: hospitals });

export const hospitalsList = defineList({
  name: 'hospitals',
  of: hospitalCache,
  filters: [{ name: 'region', of: (h) => h.region, optional: true }],
});

export const hospitalDeclarations = [hospitalCache, hospitalsList];
