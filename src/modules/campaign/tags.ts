/** A campaign's entity and the lists it appears in (all campaigns, and its region's). */
export function campaignTags(id: number, region: string): string[] {
  return [`Campaign:${id}`, 'Campaign:list', `Campaign:list:region=${region}`];
}
