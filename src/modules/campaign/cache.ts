// What of campaigns is cached: each campaign, and campaigns(activeOnly, region).
import { defineEntity, defineList } from '../../cache/declare.js';
import { campaigns, type CampaignRow } from '../../db/schema.js';

export const campaignCache = defineEntity<CampaignRow>({ type: 'Campaign', table: campaigns });

export const campaignsList = defineList({
  name: 'campaigns',
  of: campaignCache,
  filters: [{ name: 'region', of: (c) => c.region, optional: true }],
  // Whether a campaign is active depends on the clock, not on a write: a page parameter.
  params: ['activeOnly'],
});

export const campaignDeclarations = [campaignCache, campaignsList];
