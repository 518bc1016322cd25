// Seeded random numbers for rand/randn and weight init. The generator (xoshiro128**) is our own, so
// values differ from torch's for the same seed; tests that need torch's numbers load them from fixtures.
let s0 = 0, s1 = 0, s2 = 0, s3 = 0;

function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Seeds the global generator, like torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isFinite(seed)) throw new TypeError(`manualSeed: expected a finite number, got ${seed}`);
  const sm = splitmix32(Math.floor(seed) ^ Math.floor(seed / 2 ** 32));
  s0 = sm(); s1 = sm(); s2 = sm(); s3 = sm();
}
manualSeed(0);

/** Uniform in [0, 1) with 32 random bits. */
export function nextUniform(): number {
  const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
  const t = s1 << 9;
  s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
  s2 ^= t;
  s3 = rotl(s3, 11);
  return result / 4294967296;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Standard normal by Box–Muller. */
export function nextNormal(): number {
  let u = nextUniform();
  while (u === 0) u = nextUniform();
  const v = nextUniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A seeded generator independent of the global one (data augmentation, dataset shuffles). */
export function makeRng(seed: number): { uniform: () => number; normal: () => number; int: (n: number) => number } {
  const sm = splitmix32(seed);
  let a = sm(), b = sm(), c = sm(), d = sm();
  const uniform = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 4294967296;
  };
  return {
    uniform,
    normal: () => {
      let u = uniform();
      while (u === 0) u = uniform();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    },
    int: (n: number) => Math.floor(uniform() * n),
  };
}
