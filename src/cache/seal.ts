// Encryption of private cache entries at rest in Redis (AES-256-GCM).
//
// A private entry (a user's own email, phone, staff views) is sealed before it leaves the process
// and opened after it comes back, so someone who can read Redis or one of its backups sees no
// personal data. Each epoch has its own subkey (HKDF over the configured key and the epoch), so
// moving the epoch (purge-all, recovery) makes every older entry unreadable even if its bytes are
// copied into the new epoch's key. The entry's key and tags are associated data: bytes copied
// under another user's key fail authentication. Anything that does not open is a miss.
//
// Sealed payload: `~1:` then base64url of iv (12 bytes) | auth tag (16 bytes) | ciphertext.
// The tags travel next to it in clear (`~1:<tags JSON length>:<tags JSON><blob>`), since they
// are authenticated, not secret: entity ids, not personal data.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = '~1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealer {
  /** Whether entries under this key are sealed. */
  applies(key: string): boolean;
  seal(epoch: string, key: string, tags: readonly string[], plaintext: string): string;
  /** The plaintext, or null when the payload is not one this key, under this epoch, sealed for `key`. */
  open(epoch: string, key: string, sealed: string): string | null;
}

/** Derives the cache key from JWT_SECRET when no CACHE_ENCRYPTION_KEY is given. */
export function deriveCacheKeyFromSecret(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'lifeline cache encryption key v1', 32));
}

export function createSealer(key: Buffer, applies: (key: string) => boolean): Sealer {
  if (key.length !== 32) throw new Error('cache encryption key must be 32 bytes');
  // A handful of epochs are live at once at most (the current one, the one just left).
  const subkeys = new Map<string, Buffer>();
  const subkeyFor = (epoch: string) => {
    let k = subkeys.get(epoch);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', key, Buffer.from(`epoch:${epoch}`, 'utf8'), 'lifeline cache entry v1', 32));
      if (subkeys.size >= 8) subkeys.delete(subkeys.keys().next().value!);
      subkeys.set(epoch, k);
    }
    return k;
  };
  // Length-prefixed so no two (key, tags) pairs give the same associated data.
  const aad = (entryKey: string, tagsJson: string) => Buffer.from(`${entryKey.length}:${entryKey}\u0000${tagsJson}`, 'utf8');

  return {
    applies,
    seal(epoch, entryKey, tags, plaintext) {
      const tagsJson = JSON.stringify([...tags]);
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', subkeyFor(epoch), iv);
      cipher.setAAD(aad(entryKey, tagsJson));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const blob = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
      return `${VERSION}${tagsJson.length}:${tagsJson}${blob}`;
    },
    open(epoch, entryKey, sealed) {
      if (!sealed.startsWith(VERSION)) return null;
      const colon = sealed.indexOf(':', VERSION.length);
      const tagsLength = Number(sealed.slice(VERSION.length, colon));
      if (colon < 0 || !Number.isInteger(tagsLength) || tagsLength < 0) return null;
      const tagsJson = sealed.slice(colon + 1, colon + 1 + tagsLength);
      const raw = Buffer.from(sealed.slice(colon + 1 + tagsLength), 'base64url');
      if (tagsJson.length !== tagsLength || raw.length < IV_BYTES + TAG_BYTES) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', subkeyFor(epoch), raw.subarray(0, IV_BYTES));
        decipher.setAAD(aad(entryKey, tagsJson));
        decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
        return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        return null;
      }
    },
  };
}
