// CDN purge tags (issue 7): a cacheable PUBLIC response names the entity and list tags it was
// built from in `Cache-Tag` (Cloudflare, Akamai: comma-separated) and `Surrogate-Key` (Fastly:
// space-separated). They are the very tags Lifeline's invalidation uses, so a purger that
// follows the invalidations (README, "CDN purge tags") purges the CDN's copies by the same names.
//
// CDNs and proxies bound header size (Cloudflare and Fastly 16 KB; nginx's default response
// header buffer is 4–8 KB: raise proxy_buffer_size). A response whose tags do not fit in MAX_CDN_TAG_BYTES carries none,
// and tells shared caches not to keep it (`s-maxage=0`): a copy that no purge can reach would
// go stale at the CDN after the next mutation.

export const MAX_CDN_TAG_BYTES = 8_192;

/** The tags, sorted and comma-separated, or null when they do not fit (or there are none). */
export function cdnTagHeader(tags: Iterable<string>, maxBytes = MAX_CDN_TAG_BYTES): string | null {
  // A tag holding a separator or a non-printable character could not be named in a purge call.
  const usable = [...new Set(tags)].filter((t) => /^[\x21-\x7e]+$/.test(t) && !t.includes(',')).sort();
  if (!usable.length) return null;
  const header = usable.join(',');
  return header.length <= maxBytes ? header : null;
}

/** The response headers for a PUBLIC cacheable response with these tags (see cdnTagHeader). */
export function cdnHeaders(tagHeader: string | null): Record<string, string> {
  if (!tagHeader) return {};
  return { 'cache-tag': tagHeader, 'surrogate-key': tagHeader.replaceAll(',', ' ') };
}
