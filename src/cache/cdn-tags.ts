// CDN purge tags: a cacheable PUBLIC response names the entity and list tags it was
// built from in `Cache-Tag` (Cloudflare, Akamai: comma-separated) and `Surrogate-Key` (Fastly:
// space-separated). They are the very tags Lifeline's invalidation uses, so a purger that
// follows the invalidations (README, "CDN purge tags") purges the CDN's copies by the same names.
//
// CDNs and proxies bound header size (Cloudflare and Fastly 16 KB; nginx's default response
// header buffer is 4–8 KB: raise proxy_buffer_size). A response whose tags do not fit in MAX_CDN_TAG_BYTES carries none,
// and tells shared caches not to keep it (`s-maxage=0`): a copy that no purge can reach would
// go stale at the CDN after the next mutation.

export const MAX_CDN_TAG_BYTES = 8_192;

/**
 * The tags, sorted and comma-separated; null when they do not fit, when there are none, or when
 * any of them cannot be carried (a separator, a space, non-ASCII: e.g. a list filtered on a
 * free-text region): a copy missing one of its tags could not be purged when that tag is.
 */
export function cdnTagHeader(tags: Iterable<string>, maxBytes = MAX_CDN_TAG_BYTES): string | null {
  const all = [...new Set(tags)].sort();
  if (!all.length || all.some((t) => !/^[\x21-\x7e]+$/.test(t) || t.includes(','))) return null;
  const header = all.join(',');
  return header.length <= maxBytes ? header : null;
}

/**
 * Which purge-tag header a CDN in front reads: Cloudflare and Akamai read `Cache-Tag`
 * (comma-separated), Fastly `Surrogate-Key` (space-separated). Only that one is sent: the tags of
 * a nested response run to kilobytes, and a client or a CDN that reads neither pays for them on
 * every hit. 'off' (the default) sends none, for deployments with no CDN.
 */
export type CdnTagMode = 'off' | 'cache-tag' | 'surrogate-key';
export const CDN_TAG_MODES: readonly CdnTagMode[] = ['off', 'cache-tag', 'surrogate-key'];

/** The response headers for a PUBLIC cacheable response with these tags (see cdnTagHeader). */
export function cdnHeaders(tagHeader: string | null, mode: CdnTagMode): Record<string, string> {
  if (!tagHeader || mode === 'off') return {};
  return mode === 'cache-tag' ? { 'cache-tag': tagHeader } : { 'surrogate-key': tagHeader.replaceAll(',', ' ') };
}
