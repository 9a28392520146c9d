// Remembers what a request's text means to the response cache (its operation and cache key),
// so a repeated request — the common case for a hot query — finds its entry without
// JSON.parse, the nesting scan, hashing the document and sorting the variables again.
// Keyed by the exact text (and method and response format), so a remembered meaning is
// the one the text had; bounded in entries and bytes, long texts are never remembered.
import { LRUCache } from 'lru-cache';

export interface RememberedRequest<Operation> {
  operation: Operation;
  /** The response cache's requestHash for this text. */
  hash: string;
}

export interface RequestMemoOptions {
  maxEntries?: number;
  maxBytes?: number;
  /** Texts longer than this are not remembered (rare, and expensive to keep). */
  maxTextLength?: number;
}

export function createRequestMemo<Operation>(options: RequestMemoOptions = {}) {
  const maxTextLength = options.maxTextLength ?? 16 * 1024;
  const memo = new LRUCache<string, RememberedRequest<Operation>>({
    max: options.maxEntries ?? 2_000,
    maxSize: options.maxBytes ?? 16 * 1024 * 1024,
    // Key characters plus the remembered object (the operation holds slices of the same text).
    sizeCalculation: (_value, key) => 2 * key.length + 256,
  });
  const keyOf = (method: string, format: string, text: string) => `${method}\u0000${format}\u0000${text}`;
  return {
    get(method: string, format: string, text: string): RememberedRequest<Operation> | undefined {
      return text.length > maxTextLength ? undefined : memo.get(keyOf(method, format, text));
    },
    set(method: string, format: string, text: string, value: RememberedRequest<Operation>): void {
      if (text.length <= maxTextLength) memo.set(keyOf(method, format, text), value);
    },
  };
}
