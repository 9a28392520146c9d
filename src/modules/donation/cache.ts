// What of donations is cached: each donation, and pages of a donor's and of a campaign's donations.
import { defineEntity, defineList } from '../../cache/declare.js';
import { donations, type DonationRow } from '../../db/schema.js';

export const donationCache = defineEntity<DonationRow>({ type: 'Donation', table: donations });

export const donationsByDonorList = defineList({
  name: 'donationsByDonor',
  of: donationCache,
  filters: [{ name: 'parent', of: (d) => d.donorId }],
  params: ['limit', 'after'],
});

export const donationsByCampaignList = defineList({
  name: 'donationsByCampaign',
  of: donationCache,
  filters: [{ name: 'parent', of: (d) => d.campaignId }],
  params: ['limit', 'after'],
});

export const donationDeclarations = [donationCache, donationsByDonorList, donationsByCampaignList];
