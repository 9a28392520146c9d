// The one place Redis keys are built. Everything the cache stores lives under
// CACHE_PREFIX; entries also carry the epoch, so bumping the epoch orphans every
// entry at once (they expire by TTL) without KEYS or FLUSH.
//
//   <prefix>clock              the global invalidation clock G
//   <prefix>epoch              the current epoch
//   <prefix>v:<tag>            the clock value of the tag's last invalidation
//   <prefix><epoch>:<key>      an entry; entity keys end in Type:id
//   <prefix><epoch>:idx:<tag>  the entries to delete when <tag> is invalidated
//   <prefix><epoch>:lease:<key> who is recomputing <key>

export interface Keyspace {
  prefix: string;
  clock: string;
  epoch: string;
  version(tag: string): string;
  entry(epoch: string, key: string): string;
  index(epoch: string, tag: string): string;
  lease(epoch: string, key: string): string;
}

export function createKeyspace(prefix: string): Keyspace {
  return {
    prefix,
    clock: `${prefix}clock`,
    epoch: `${prefix}epoch`,
    version: (tag) => `${prefix}v:${tag}`,
    entry: (epoch, key) => `${prefix}${epoch}:${key}`,
    index: (epoch, tag) => `${prefix}${epoch}:idx:${tag}`,
    lease: (epoch, key) => `${prefix}${epoch}:lease:${key}`,
  };
}

/** The opaque key of a user's private response: names the user so their entries can be found and purged. */
export const privateResponseKey = (userId: string | number, hash: string) => `resp:user:${userId}:${hash}`;
export const publicResponseKey = (hash: string) => `resp:public:${hash}`;
/** Every private entry of a user is indexed under this tag. */
export const userTag = (userId: string | number) => `user:${userId}`;
