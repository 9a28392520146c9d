// The one place Redis keys are built. Everything the cache stores lives under
// CACHE_PREFIX; entries also carry the epoch, so bumping the epoch orphans every
// entry at once (they expire by TTL) without KEYS or FLUSH.
//
// Every cache key also carries ONE Redis Cluster hash tag, `{<prefix>cache}`, so on a cluster
// they all live in one slot: the invalidation script increments the clock, stamps tag versions
// and deletes indexed entries atomically, and the write script checks the epoch and the versions
// before storing, which a cluster allows only within one slot. The cost is that the cache is
// served by one master (its replicas can take reads only for failover); the prefix inside the tag
// gives each deployment sharing a cluster its own slot. On a standalone Redis the tag is inert.
// (`base` below is `<prefix>{<prefix>cache}:`, e.g. `lifeline:{lifeline:cache}:`.)
//
//   <base>meta                   hash: `epoch` (the current epoch) and `clock` (the global
//                                invalidation clock G of that epoch); no TTL
//   <base><epoch>:vb:<n>         hash, one of VERSION_BUCKETS: field "" is the bucket's floor (the
//                                clock when it was created), field <tag> the clock value of the
//                                tag's last invalidation, for the tags hashing to bucket n
//   <base><epoch>:<key>          an entry: its own header (the fence it was written under and its
//                                tags), then the cache's encoded value
//   <base><epoch>:idx:<tag>      the entries to delete when <tag> is invalidated (memory only)
//   <base><epoch>:lease:<key>    who is recomputing <key>
//
// Why this layout survives eviction (docs/eviction.md): Redis evicts whole keys, so grouping
// state into hashes makes its loss detectable. A missing meta hash starts a fresh, never reused
// epoch; a missing version bucket reads as "every tag in it invalidated just now"; entries are
// validated against their tags' versions on every read, so a lost index only costs memory.
//
// The Lua scripts in redis-store.ts build the same names from `base` (ARGV[1]).

/**
 * How many hashes the tag versions are spread over: the loss of one invalidates ~1/N of the tags;
 * a read looks each bucket up once for all its entries' tags, so few buckets keep the check cheap.
 * Buckets are read on every request, so an LRU policy is the least likely to evict them.
 */
export const VERSION_BUCKETS = 8;

export interface Keyspace {
  prefix: string;
  /** Every cache key starts with this: the prefix, then the hash tag of the cache's one slot. */
  base: string;
  /** The hash holding the epoch and the clock. */
  meta: string;
  /** A version bucket (the scripts pick the bucket from the tag: sha1(tag)[0..4] mod VERSION_BUCKETS). */
  versionBucket(epoch: string, n: number): string;
  entry(epoch: string, key: string): string;
  index(epoch: string, tag: string): string;
  lease(epoch: string, key: string): string;
}

export function createKeyspace(prefix: string): Keyspace {
  const base = `${prefix}{${prefix}cache}:`;
  return {
    prefix,
    base,
    meta: `${base}meta`,
    versionBucket: (epoch, n) => `${base}${epoch}:vb:${n}`,
    entry: (epoch, key) => `${base}${epoch}:${key}`,
    index: (epoch, tag) => `${base}${epoch}:idx:${tag}`,
    lease: (epoch, key) => `${base}${epoch}:lease:${key}`,
  };
}

/** The opaque key of a user's private response: names the user so their entries can be found and purged. */
export const privateResponseKey = (userId: string | number, hash: string) => `resp:user:${userId}:${hash}`;
/** Whether a cache key is a user's private response (those are encrypted at rest: cache/seal.ts). */
export const isPrivateResponseKey = (key: string) => key.startsWith('resp:user:');
export const publicResponseKey = (hash: string) => `resp:public:${hash}`;
/** The request hash a shared response key names (the inverse of publicResponseKey); null for any other key. */
export const publicResponseHash = (key: string) => (key.startsWith('resp:public:') ? key.slice('resp:public:'.length) : null);
/** Every private entry of a user is indexed under this tag. */
export const userTag = (userId: string | number) => `user:${userId}`;
