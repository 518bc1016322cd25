/**
 * Small deterministic random number tools for the procedural demo data:
 * `mulberry32` (a sequential 32-bit PRNG) and integer hashing for
 * position-keyed noise and derived seeds. Pure integer arithmetic, so results
 * are identical on every platform.
 */

/** Checks a seed: any integer (taken modulo 2^32). */
export function checkSeed(seed: number, what = 'seed'): number {
  if (!Number.isInteger(seed)) throw new RangeError(`${what} must be an integer, got ${seed}`);
  return seed >>> 0;
}

/** The mulberry32 generator: uniform floats in [0, 1) with 2^-32 resolution. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit avalanche mix (lowbias32). */
export function mix32(h: number): number {
  h >>>= 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a list of integers to a 32-bit value (order-sensitive). */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) h = mix32((h ^ mix32(v >>> 0)) + 0x632be5ab);
  return h;
}

/** A hash of integers mapped to [0, 1). */
export function hashUnit(...values: number[]): number {
  return hashInts(...values) / 4294967296;
}
