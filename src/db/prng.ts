// A deterministic PRNG shared by the seed and the benchmark's load client (no dependencies, so
// the load client's process stays small).

/** mulberry32: a tiny, fast 32-bit PRNG; good enough for synthetic data, not for secrets. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
