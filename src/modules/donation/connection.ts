import type { DonationRow } from '../../db/schema.js';
import { checkPageSize, decodeCursor, encodeCursor, toConnection, type ConnectionResult } from '../../graphql/connection.js';
import type { PageKey } from './loaders.js';
import type DataLoader from 'dataloader';

/** A donor's or campaign's donations, newest first, through the per-request page and count loaders. */
export async function donationConnection(
  pages: DataLoader<PageKey, DonationRow[], string>,
  counts: DataLoader<number, number>,
  parentId: number,
  first: number,
  after: string | null | undefined,
): Promise<ConnectionResult<DonationRow>> {
  const limit = checkPageSize(first);
  const afterId = decodeCursor('Donation', after);
  const fetched = limit === 0 ? [] : await pages.load({ parent: parentId, limit: limit + 1, after: afterId });
  return toConnection(fetched, limit, (d) => encodeCursor('Donation', d.id), () => counts.load(parentId), afterId !== null);
}
