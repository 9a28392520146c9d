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
//   <base>clock              the global invalidation clock G
//   <base>epoch              the current epoch
//   <base>v:<tag>            the clock value of the tag's last invalidation
//   <base><epoch>:<key>      an entry; entity keys end in Type:id
//   <base><epoch>:idx:<tag>  the entries to delete when <tag> is invalidated
//   <base><epoch>:lease:<key> who is recomputing <key>
//
// The Lua scripts in redis-store.ts build the same names from `base` (ARGV[1]).

export interface Keyspace {
  prefix: string;
  /** Every cache key starts with this: the prefix, then the hash tag of the cache's one slot. */
  base: string;
  clock: string;
  epoch: string;
  version(tag: string): string;
  entry(epoch: string, key: string): string;
  index(epoch: string, tag: string): string;
  lease(epoch: string, key: string): string;
}

export function createKeyspace(prefix: string): Keyspace {
  const base = `${prefix}{${prefix}cache}:`;
  return {
    prefix,
    base,
    clock: `${base}clock`,
    epoch: `${base}epoch`,
    version: (tag) => `${base}v:${tag}`,
    entry: (epoch, key) => `${base}${epoch}:${key}`,
    index: (epoch, tag) => `${base}${epoch}:idx:${tag}`,
    lease: (epoch, key) => `${base}${epoch}:lease:${key}`,
  };
}

/** The opaque key of a user's private response: names the user so their entries can be found and purged. */
export const privateResponseKey = (userId: string | number, hash: string) => `resp:user:${userId}:${hash}`;
export const publicResponseKey = (hash: string) => `resp:public:${hash}`;
/** Every private entry of a user is indexed under this tag. */
export const userTag = (userId: string | number) => `user:${userId}`;
