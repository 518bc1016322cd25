// Tolerances for comparing the WebGPU backend with the CPU reference backend, in one place.
//
// A GPU value g passes against the CPU value c when both are NaN, both are the same infinity, or
// |g − c| ≤ atol + rtol·|c|. Per family:
//
// * exact: data movement, casts, neg/abs/sign/relu/floor/ceil/round/isnan, comparisons, where, clamp,
//   integer arithmetic, argmax/argmin, gather, max/min reductions, max-pooling: no rounding happens or the
//   rounding is identical, so the results must be bit-identical (atol = rtol = 0).
// * arithmetic with one rounding (add/sub/mul/div, square, reciprocal, sqrt): the CPU rounds a float64 result
//   to float32 once; so does the GPU: rtol = 2^-22 ≈ 2.4e-7 (2 ulp). GPUs may flush subnormal results to zero
//   (SwiftShader does), so atol = FLT_MIN ≈ 1.2e-38 everywhere except the exact family. binaryScalar rounds its
//   float64 scalar s to float32 first: for add/sub that is an absolute error up to 2^-25·|s|, so those tests
//   add atol = 2^-24·|s| (x − 0.1 at x = fround(0.1) is 0 on the GPU and 1.5e-9 on the CPU).
// * transcendental (exp, log, tanh, sigmoid, sin, cos, erf, gelu*, pow, rsqrt): our WGSL implementations are
//   1–3 ulp (Cephes float algorithms); composites (gelu = x·Φ(x) etc.) add a few roundings: rtol = 1e-6
//   (≈ 8 ulp). sin/cos lose absolute accuracy ∝ |x|·2^-24 in range reduction and near their zeros: atol 1e-6.
//   pow is exp(b·log|a|): the rounding of y = b·log|a| is amplified by |y|, so pow's relative tolerance
//   4e-7 is scaled by max(1, |y|) (see powScale).
//   The CPU forms gelu(x) = x(1 + erf(x/√2))/2 in float64, whose 1 + erf cancels for x < −5 (absolute error
//   ≈ 1e-16·|x|; the GPU computes erfc directly and is more accurate there): atol 1e-14 for the gelu family.
//   The geluGrad terms Φ(x) and x·φ(x) cancel for very negative x: atol 1e-7 there.
// * reductions, matmul, conv (float32 sums of K terms in a different order than the CPU): the error of a
//   float32 sum is bounded by ≈ K·u·Σ|terms| and is typically ≈ √K·u·Σ|terms| (u = 2^-24). We compare against
//   the scale Σ|terms| computed by the CPU on |operands|, with tolerance 4·√K·2^-24 ≈ 2.4e-7·√K of that scale
//   (plus a floor of 1e-6 relative): loose enough for any summation order, tight enough to catch one wrong term.
// * softmax / logSoftmax / layerNorm: a row reduction (sum of exp, mean, variance) followed by a transcendental:
//   rtol 1e-5, atol 1e-6 (logSoftmax values near 0 are differences of O(log n) quantities).
export interface Tol {
  rtol: number;
  atol: number;
}

export const EXACT: Tol = { rtol: 0, atol: 0 };
/** Smallest normal float32: results below it may be flushed to zero by the GPU. */
export const FLT_MIN = 1.1754943508222875e-38;
export const ONE_ROUNDING: Tol = { rtol: 2 ** -22, atol: FLT_MIN };
export const TRANSCENDENTAL: Tol = { rtol: 1e-6, atol: FLT_MIN };
export const GELU: Tol = { rtol: 1e-6, atol: 1e-14 };
export const TRIG: Tol = { rtol: 1e-6, atol: 1e-6 };
/** Relative to |c|·max(1, |b·ln|a||): use with powScale. */
export const POW: Tol = { rtol: 4e-7, atol: FLT_MIN };
export const ROWWISE: Tol = { rtol: 1e-5, atol: 1e-6 };

/** Per-element scale for pow(a, b) = c: |c|·max(1, |b·ln|a||). */
export function powScale(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): number[] {
  return Array.from(c, (v, i) => {
    const y = Math.abs(b[i] * Math.log(Math.abs(a[i])));
    return Math.abs(v) * (Number.isFinite(y) ? Math.max(1, y) : 1);
  });
}

/** Relative (to Σ|terms|) tolerance of a float32 sum of k terms in an unknown order. */
export function sumTol(k: number): number {
  return Math.max(1e-6, 4 * Math.sqrt(Math.max(k, 1)) * 2 ** -24);
}
