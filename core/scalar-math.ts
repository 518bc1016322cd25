// Scalar formulas of the elementwise ops, shared by the backends that compute in JavaScript numbers (the CPU
// reference backend, and the wasm backend's scalar paths), so both round exactly alike. The WGSL kernels
// (kernels/webgpu/) implement the same table; the comments state the torch definition each one follows.
import type { BinaryOp, UnaryOp } from './backend';

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** erfc(|x|) by the Numerical Recipes Chebyshev fit: relative error < 1.2e-7 everywhere. */
function erfcNR(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  return t * Math.exp(
    -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
      t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
  );
}

/** Maclaurin series of erf: 2/√π Σ (-1)ⁿ x^(2n+1) / (n! (2n+1)), summed until terms vanish. */
function erfSeries(x: number, maxTerms: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < maxTerms; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return sum * 1.1283791670955126;
}

/** erf accurate to float32 precision (relative) — the series near 0 avoids 1 - erfc cancellation. */
export function erf(x: number): number {
  const z = Math.abs(x);
  if (z < 0.5) return erfSeries(x, 8);
  const r = erfcNR(z);
  return x >= 0 ? 1 - r : r - 1;
}

/** erf to ~1e-12, for the float64 gradient-check path. */
export function erfPrecise(x: number): number {
  const z = Math.abs(x);
  if (z < 3) return erfSeries(x, 80);
  const r = erfcNR(z);
  return x >= 0 ? 1 - r : r - 1;
}

export const unaryFns: Record<UnaryOp, (x: number) => number> = {
  copy: (x) => x,
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  relu: (x) => (x > 0 ? x : x === 0 || x < 0 ? 0 : x), // NaN stays NaN, as torch.relu
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
  erf,
  // gelu(x) = x·Φ(x), exact erf form (torch approximate='none')
  gelu: (x) => 0.5 * x * (1 + erf(x * SQRT1_2)),
  // gelu(x) ≈ 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (torch approximate='tanh')
  geluTanh: (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
  // d/dx x·Φ(x) = Φ(x) + x·φ(x)
  geluGrad: (x) => 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  geluTanhGrad: (x) => {
    const inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    const t = Math.tanh(inner);
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
  },
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sin: Math.sin,
  cos: Math.cos,
  floor: Math.floor,
  ceil: Math.ceil,
  // torch.round rounds half to even
  round: (x) => {
    const r = Math.round(x);
    return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  isnan: (x) => (Number.isNaN(x) ? 1 : 0),
};

export const binaryFns: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  // torch.maximum/minimum propagate NaN
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

export function isComparison(op: BinaryOp): boolean {
  return op === 'eq' || op === 'ne' || op === 'lt' || op === 'le' || op === 'gt' || op === 'ge';
}

/** float64 variants where the float32 formula is not accurate enough for finite-difference checks. */
export const unaryFns64: Partial<Record<UnaryOp, (x: number) => number>> = {
  erf: erfPrecise,
  gelu: (x) => 0.5 * x * (1 + erfPrecise(x * SQRT1_2)),
  geluGrad: (x) => 0.5 * (1 + erfPrecise(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
};
