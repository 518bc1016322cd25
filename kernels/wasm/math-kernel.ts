// Transcendental kernels in f32x4: gelu (exact erf form), its derivative, and softmax rows. Unlike elementwise-kernel.ts these
// are not bit-identical to the CPU backend (which evaluates erf/exp in double and rounds once); they are
// float32 approximations within a few ulp, covered by TOL.crossBackend like the WebGPU backend's:
//   erf(x): the rational approximation of Eigen / TensorFlow (odd degree-13 numerator over even degree-8
//           denominator on x clamped to [−4, 4]; ±1 beyond, where float32 erf is ±1): ≤ 2e-7 absolute.
//   exp(x): Cephes expf: n = round(x·log₂e), r = x − n·ln2 (in two parts), a degree-6 polynomial, times 2ⁿ
//           built in the exponent bits; x clamped to [−88, 88], and 2⁻¹²⁷ comes out as 0, so exp(−∞) = 0.
// Measured against the CPU's formulas (a sweep of 200,001 points): gelu ≤ 2.4e-7·max(1, |x|) absolute — in the
// negative tail, where 1 + erf cancels, that is up to 3e-4 relative to a result of 1e-3, as in any float32
// erf-form gelu (torch's included); softmax ≤ 2.2e-6 relative on rows spread over ±30 (the float32 x − max).
// They measured 23 % (gelu, scalar erf in TypeScript) and 13 % (softmax, Math.exp) of a ViT-S/14 Finer-CAM on
// this backend before (bench/wasm-profile.mjs --model vits14).
import type { Expr, FunctionBuilder, Local, ModuleBuilder } from './builder/index';

const ERF_ALPHA = [-1.60960333262415e-2, -2.95459980854025e-3, -7.34990630326855e-4, -5.69250639462346e-5, -2.10102402082508e-6, 2.77068142495902e-8, -2.72614225801306e-10];
const ERF_BETA = [-1.42647390514189e-2, -7.37332916720468e-3, -1.68282697438203e-3, -2.13374055278905e-4, -1.45660718464996e-5];
const SQRT1_2 = Math.SQRT1_2;

/** erf of the v128 local x (uses locals erf.*). */
function erfV(f: FunctionBuilder, x: Local): Expr {
  const c = f.reuse('erf.c', 'v128');
  const x2 = f.reuse('erf.x2', 'v128');
  const p = f.reuse('erf.p', 'v128');
  const q = f.reuse('erf.q', 'v128');
  f.set(c, f.f32x4.min(f.f32x4.max(x, -4), 4));
  f.set(x2, f.f32x4.mul(c, c));
  // Horner: p = α13 x² + α11, ..., then x·p; q likewise in x²
  f.set(p, ERF_ALPHA[6]);
  for (let i = 5; i >= 0; i--) f.set(p, f.f32x4.add(f.f32x4.mul(p, x2), ERF_ALPHA[i]));
  f.set(p, f.f32x4.mul(p, c));
  f.set(q, ERF_BETA[4]);
  for (let i = 3; i >= 0; i--) f.set(q, f.f32x4.add(f.f32x4.mul(q, x2), ERF_BETA[i]));
  // |x| ≥ 4 → ±1 exactly (also ±∞); NaN stays NaN through the min/max above
  return f.v128.bitselect(f.v128.bitselect(-1, 1, f.f32x4.lt(x, 0)), f.f32x4.div(p, q), f.f32x4.ge(f.f32x4.abs(x), 4));
}

/** gelu(x) = ½x(1 + erf(x/√2)) of the v128 local x. */
export function geluV(f: FunctionBuilder, x: Local): Expr {
  const s = f.reuse('gelu.s', 'v128');
  f.set(s, f.f32x4.mul(x, SQRT1_2));
  f.set(s, erfV(f, s));
  return f.f32x4.mul(f.f32x4.mul(x, 0.5), f.f32x4.add(s, 1));
}

/** gelu'(x) = Φ(x) + x·φ(x) = ½(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π) of the v128 local x. */
export function geluGradV(f: FunctionBuilder, x: Local): Expr {
  const s = f.reuse('gelu.s', 'v128');
  const e = f.reuse('gelu.e', 'v128');
  f.set(s, f.f32x4.mul(x, SQRT1_2));
  f.set(s, erfV(f, s));
  f.set(e, f.f32x4.mul(f.f32x4.mul(x, x), -0.5));
  f.set(e, expV(f, e));
  return f.f32x4.add(f.f32x4.mul(f.f32x4.add(s, 1), 0.5), f.f32x4.mul(f.f32x4.mul(x, 1 / Math.sqrt(2 * Math.PI)), e));
}

/** exp of the v128 local x (uses locals exp.*). */
export function expV(f: FunctionBuilder, x: Local): Expr {
  const c = f.reuse('exp.c', 'v128');
  const n = f.reuse('exp.n', 'v128');
  const r = f.reuse('exp.r', 'v128');
  const y = f.reuse('exp.y', 'v128');
  f.set(c, f.f32x4.min(f.f32x4.max(x, -88), 88));
  f.set(n, f.f32x4.nearest(f.f32x4.mul(c, Math.LOG2E)));
  f.set(r, f.f32x4.sub(f.f32x4.sub(c, f.f32x4.mul(n, 0.693359375)), f.f32x4.mul(n, -2.12194440e-4)));
  f.set(y, 1.9875691500e-4);
  for (const k of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) f.set(y, f.f32x4.add(f.f32x4.mul(y, r), k));
  f.set(y, f.f32x4.add(f.f32x4.add(f.f32x4.mul(f.f32x4.mul(y, r), r), r), 1));
  // 2ⁿ: (n + 127) << 23 as float bits; n = −127 gives +0
  return f.f32x4.mul(y, f.v128.i32x4Shl(f.v128.i32x4Add(f.v128.i32x4TruncSatF32x4S(n), f.v128.i32x4Splat(127)), 23));
}

export function addMathKernels(m: ModuleBuilder): void {
  // ewu_gelu(a, out, n) and ewu_geluGrad(a, out, n): in place is fine (a = out)
  for (const [name, fn] of [['ewu_gelu', geluV], ['ewu_geluGrad', geluGradV]] as const) m.func(name, { a: 'i32', out: 'i32', n: 'i32' }, [], (f) => {
    const [a, out, n] = f.params;
    const i = f.local('i', 'i32');
    const end = f.local('end', 'i32');
    const vend = f.local('vend', 'i32');
    const x = f.local('x', 'v128');
    f.set(end, f.i32.shl(n, 2));
    f.set(vend, f.i32.and(end, -16));
    f.for_(i, 0, vend, 16, () => {
      f.set(x, f.v128.load(f.i32.add(a, i)));
      f.v128.store(f.i32.add(out, i), fn(f, x));
    });
    f.for_(i, vend, end, 4, () => {
      f.set(x, f.v128.load32Splat(f.i32.add(a, i)));
      f.f32.store(f.i32.add(out, i), f.f32x4.extractLane(fn(f, x), 0));
    });
  });

  // softmax_rows(x, out, rows, cols): out = exp(x − max) / Σ exp(x − max) per row of cols contiguous floats
  // (a row whose max is −∞ uses 0, so it comes out NaN through 0/0, as torch); the max and the sum are
  // float32 (f32x4 lanes, then across lanes).
  m.func('softmax_rows', { x: 'i32', out: 'i32', rows: 'i32', cols: 'i32' }, [], (f) => {
    const [xp, out, rows, cols] = f.params;
    const r = f.local('r', 'i32');
    const i = f.local('i', 'i32');
    const end = f.local('end', 'i32');
    const vend = f.local('vend', 'i32');
    const px = f.local('px', 'i32');
    const po = f.local('po', 'i32');
    const v = f.local('v', 'v128');
    const acc = f.local('acc', 'v128');
    const mv = f.local('mv', 'v128');
    const mx = f.local('mx', 'f32');
    const s = f.local('s', 'f32');
    f.set(end, f.i32.shl(cols, 2));
    f.set(vend, f.i32.and(end, -16));
    f.set(px, xp);
    f.set(po, out);
    const hmax = (a: Local) => f.f32.max(f.f32.max(f.f32x4.extractLane(a, 0), f.f32x4.extractLane(a, 1)), f.f32.max(f.f32x4.extractLane(a, 2), f.f32x4.extractLane(a, 3)));
    const hsum = (a: Local) => f.f32.add(f.f32.add(f.f32x4.extractLane(a, 0), f.f32x4.extractLane(a, 1)), f.f32.add(f.f32x4.extractLane(a, 2), f.f32x4.extractLane(a, 3)));
    f.for_(r, 0, rows, 1, () => {
      f.set(acc, -Infinity);
      f.for_(i, 0, vend, 16, () => f.set(acc, f.f32x4.max(acc, f.v128.load(f.i32.add(px, i)))));
      f.set(mx, hmax(acc));
      f.for_(i, vend, end, 4, () => f.set(mx, f.f32.max(mx, f.f32.load(f.i32.add(px, i)))));
      f.if_(f.f32.eq(mx, -Infinity), () => f.set(mx, 0));
      f.set(mv, f.f32x4.splat(mx));
      f.set(acc, 0);
      f.for_(i, 0, vend, 16, () => {
        f.set(v, f.f32x4.sub(f.v128.load(f.i32.add(px, i)), mv));
        f.set(v, expV(f, v));
        f.v128.store(f.i32.add(po, i), v);
        f.set(acc, f.f32x4.add(acc, v));
      });
      f.set(s, hsum(acc));
      f.for_(i, vend, end, 4, () => {
        f.set(v, f.f32x4.sub(f.v128.load32Splat(f.i32.add(px, i)), mv));
        f.set(v, expV(f, v));
        f.f32.store(f.i32.add(po, i), f.f32x4.extractLane(v, 0));
        f.set(s, f.f32.add(s, f.f32x4.extractLane(v, 0)));
      });
      f.set(mv, f.f32x4.splat(s));
      f.for_(i, 0, vend, 16, () => f.v128.store(f.i32.add(po, i), f.f32x4.div(f.v128.load(f.i32.add(po, i)), mv)));
      f.for_(i, vend, end, 4, () => f.f32.store(f.i32.add(po, i), f.f32.div(f.f32.load(f.i32.add(po, i)), s)));
      f.set(px, f.i32.add(px, end));
      f.set(po, f.i32.add(po, end));
    });
  });
}
