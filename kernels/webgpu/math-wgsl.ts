// Scalar WGSL math shared by the kernels, written to match kernels/cpu/elementwise.ts.
//
// Why not the WGSL builtins? The spec leaves their accuracy loose and implementations take it: on SwiftShader
// sin/cos are off by 2e-4 absolute, log by 2e-5 relative near 1, tanh(100) is NaN, log(0) is -88, `max`
// drops NaN, and `x != x` folds to false. So NaN tests use the bit pattern, and exp/log/tanh/sin/cos are the
// Cephes single-precision algorithms (≈1–2 ulp): Cody–Waite range reduction plus a short minimax polynomial.
// erf uses the same split as the CPU: the Maclaurin series below |x| = 0.5, 1 − erfc above, with erfc from
// the Numerical Recipes Chebyshev fit (relative error < 1.2e-7); exp(−z²) is formed from two halves of z so
// the rounding of z² does not cost accuracy in the tail.
//
// Each helper lists the helpers it calls; `mathHelpers(names)` returns them in dependency order.

interface Helper {
  deps: string[];
  code: string;
}

const HELPERS: Record<string, Helper> = {
  is_nan: {
    deps: [],
    code: `fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`,
  },
  is_inf: {
    deps: [],
    code: `fn is_inf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }`,
  },
  nan_f32: {
    // Built at run time: a NaN in a const-expression is a shader-creation error.
    deps: [],
    code: `fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }`,
  },
  inf_f32: {
    deps: [],
    code: `fn inf_f32() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }`,
  },
  to_i32: {
    // float → int32 truncating toward zero; NaN, ±inf and out-of-range values give 0 (JS ToInt32 wraps those).
    deps: [],
    code: `fn to_i32(x: f32) -> i32 { return select(0, i32(x), abs(x) < 2147483648.0); }`,
  },
  exp_: {
    deps: ['is_nan', 'inf_f32'],
    code: `
// exp(x): x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two so n·C1 is exact), exp(r) by a degree-6
// polynomial, then scaled by 2^n.
fn exp_(x: f32) -> f32 {
  if (is_nan(x)) { return x; }
  if (x > 88.72283) { return inf_f32(); }
  if (x < -103.97208) { return 0.0; }
  let n = floor(x * 1.44269504088896341 + 0.5);
  let r = (x - n * 0.693359375) + n * 2.12194440e-4;
  let z = r * r;
  let p = (((((1.9875691500e-4 * r + 1.3981999507e-3) * r + 8.3334519073e-3) * r + 4.1665795894e-2) * r
           + 1.6666665459e-1) * r + 5.0000001201e-1) * z + r + 1.0;
  let k = i32(n);
  // two steps so neither scale factor leaves the normal range
  return ldexp(ldexp(p, k / 2), k - k / 2);
}`,
  },
  log_pos: {
    deps: [],
    code: `
// log(x) for finite normal x > 0: x = m·2^e with m in [sqrt(1/2), sqrt(2)), log(1+f) by a degree-9 polynomial.
fn log_pos(x: f32) -> f32 {
  let bits = bitcast<u32>(x);
  var e = f32(i32(bits >> 23u) - 126);
  var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f000000u);
  if (m < 0.70710678118654752) { e = e - 1.0; m = m + m - 1.0; } else { m = m - 1.0; }
  let z = m * m;
  var y = ((((((((7.0376836292e-2 * m - 1.1514610310e-1) * m + 1.1676998740e-1) * m - 1.2420140846e-1) * m
           + 1.4249322787e-1) * m - 1.6668057665e-1) * m + 2.0000714765e-1) * m - 2.4999993993e-1) * m
           + 3.3333331174e-1) * m * z;
  y = y - 2.12194440e-4 * e;
  y = y - 0.5 * z;
  return (m + y) + 0.693359375 * e;
}`,
  },
  log_: {
    deps: ['log_pos', 'is_nan', 'nan_f32', 'inf_f32'],
    code: `
fn log_(x: f32) -> f32 {
  if (is_nan(x) || x < 0.0) { return nan_f32(); }
  let bits = bitcast<u32>(x) & 0x7fffffffu;
  if (bits == 0u) { return -inf_f32(); }
  if (bits == 0x7f800000u) { return x; }
  if (bits < 0x00800000u) { return log_pos(f32(bits)) - 103.27892990343184; } // subnormal: bits·2^-149
  return log_pos(x);
}`,
  },
  tanh_: {
    deps: ['exp_'],
    code: `
// tanh: odd polynomial below 0.625, 1 - 2/(e^{2|x|}+1) above (saturates to ±1, never NaN).
fn tanh_(x: f32) -> f32 {
  let z = abs(x);
  if (z < 0.625) {
    let s = x * x;
    return ((((-5.70498872745e-3 * s + 2.06390887954e-2) * s - 5.37397155531e-2) * s + 1.33314422036e-1) * s
            - 3.33332819422e-1) * s * x + x;
  }
  let r = 1.0 - 2.0 / (exp_(2.0 * z) + 1.0);
  return select(r, -r, x < 0.0);
}`,
  },
  sigmoid_: {
    deps: ['exp_'],
    code: `fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp_(-x)); }`,
  },
  sincos_: {
    deps: ['is_nan', 'is_inf', 'nan_f32'],
    code: `
// sin (want_cos = false) or cos of x: j = octant of |x| (x/(π/4), rounded up to even), x - j·π/4 with π/4 in
// three parts (exact products for |x| < 8192), then the sine or cosine polynomial of the reduced argument.
fn sincos_(x: f32, want_cos: bool) -> f32 {
  if (is_nan(x) || is_inf(x)) { return nan_f32(); }
  var neg = x < 0.0 && !want_cos;
  let ax = abs(x);
  var j = u32(ax * 1.27323954473516);
  var y = f32(j);
  if ((j & 1u) == 1u) { j = j + 1u; y = y + 1.0; }
  j = j & 7u;
  if (j > 3u) { neg = !neg; j = j - 4u; }
  if (want_cos && j > 1u) { neg = !neg; }
  let r = ((ax - y * 0.78515625) - y * 2.4187564849853515625e-4) - y * 3.77489497744594108e-8;
  let z = r * r;
  var v: f32;
  if ((j == 1u || j == 2u) != want_cos) {
    v = ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0;
  } else {
    v = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  }
  return select(v, -v, neg);
}`,
  },
  erf_series: {
    deps: [],
    code: `
// 2/√π Σ (-1)^n x^(2n+1) / (n!(2n+1)), 8 terms: enough below |x| = 0.5.
fn erf_series(x: f32) -> f32 {
  let x2 = x * x;
  var term = x;
  var sum = x;
  for (var n = 1; n < 8; n++) {
    term = term * (-x2 / f32(n));
    sum = sum + term / f32(2 * n + 1);
  }
  return sum * 1.1283791670955126;
}`,
  },
  exp_neg_half_sq: {
    deps: ['exp_'],
    code: `
// exp(-x²/2) without the rounding of x²: x = xh + xl with xh = x cut to 12 bits, so xh² is exact and
// x² = xh² + (x - xh)(x + xh). (A rounded x² would cost |x²|·2^-24 relative accuracy: 2e-6 at |x| = 8.)
fn exp_neg_half_sq(x: f32) -> f32 {
  let xh = bitcast<f32>(bitcast<u32>(x) & 0xfffff000u);
  return exp_(-0.5 * (xh * xh)) * exp_(-0.5 * ((x - xh) * (x + xh)));
}`,
  },
  erfc_nr: {
    deps: ['exp_'],
    code: `
// Numerical Recipes erfcc: erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2), for z >= 0, with -z² = hi + lo given
// in two parts (hi exact) so the rounding of z² costs no accuracy in the tail.
fn erfc_nr_parts(z: f32, hi: f32, lo: f32) -> f32 {
  if (z > 10.0) { return 0.0; } // erfc(10) ≈ 2e-45: below float32's normal range
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
          + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp_(hi) * exp_(lo + p);
}
// erfc(z), z >= 0: -z² = -zh² - (z - zh)(z + zh), zh = z cut to 12 bits (zh² exact)
fn erfc_nr(z: f32) -> f32 {
  let zh = bitcast<f32>(bitcast<u32>(z) & 0xfffff000u);
  return erfc_nr_parts(z, -(zh * zh), -((z - zh) * (z + zh)));
}`,
  },
  erf_: {
    deps: ['erf_series', 'erfc_nr'],
    code: `
fn erf_(x: f32) -> f32 {
  let z = abs(x);
  if (z < 0.5) { return erf_series(x); }
  let r = erfc_nr(z);
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}`,
  },
  phi_: {
    deps: ['erf_series', 'erfc_nr'],
    code: `
// Φ(x) = (1 + erf(x/√2))/2, formed as erfc(|x|/√2)/2 in the lower tail so no digits cancel; the exponent
// -x²/2 is split from x itself (not from the rounded x/√2).
fn phi_(x: f32) -> f32 {
  let v = x * 0.70710678118654752;
  let z = abs(v);
  if (z < 0.5) { return 0.5 + 0.5 * erf_series(v); }
  let xh = bitcast<f32>(bitcast<u32>(x) & 0xfffff000u);
  let r = 0.5 * erfc_nr_parts(z, -0.5 * (xh * xh), -0.5 * ((x - xh) * (x + xh)));
  return select(1.0 - r, r, x < 0.0);
}`,
  },
  gelu_tanh_parts: {
    deps: ['exp_'],
    code: `
// For the tanh GELU: u = √(2/π)(x + 0.044715x³); (1 + tanh u)/2 = sigmoid(2u), (1 - tanh u)/2 = sigmoid(-2u).
fn gelu_tanh_u(x: f32) -> f32 { return 0.7978845608028654 * (x + 0.044715 * x * x * x); }
fn sig_(v: f32) -> f32 { return 1.0 / (1.0 + exp_(-v)); }`,
  },
  pow_: {
    deps: ['is_nan', 'is_inf', 'nan_f32', 'inf_f32', 'exp_', 'log_'],
    code: `
// Math.pow semantics: NaN exponent → NaN, x^0 = 1, ±1^±inf = NaN, negative base needs an integer exponent,
// signed zeros and infinities as IEEE; otherwise exp(b·log|a|) with the sign of an odd integer power.
fn pow_(a: f32, b: f32) -> f32 {
  if (is_nan(b)) { return nan_f32(); }
  if (b == 0.0) { return 1.0; }
  if (is_nan(a)) { return a; }
  if (b == 1.0) { return a; }
  if (b == 2.0) { return a * a; }
  let aa = abs(a);
  if (is_inf(b)) {
    if (aa == 1.0) { return nan_f32(); }
    return select(0.0, inf_f32(), (aa > 1.0) == (b > 0.0));
  }
  let b_int = floor(b) == b;
  let a_neg = (bitcast<u32>(a) >> 31u) == 1u;
  if (a_neg && aa != 0.0 && !is_inf(a) && !b_int) { return nan_f32(); }
  let odd = b_int && abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  var r: f32;
  if (aa == 0.0) { r = select(0.0, inf_f32(), b < 0.0); }
  else if (is_inf(aa)) { r = select(inf_f32(), 0.0, b < 0.0); }
  else { r = exp_(b * log_(aa)); }
  return select(r, -r, a_neg && odd);
}`,
  },
  ipow_: {
    deps: [],
    code: `
// Integer power by squaring (wrapping); negative exponents truncate as Math.pow then ToInt32 would.
fn ipow_(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) == 1); }
    return 0;
  }
  var base = a;
  var e = b;
  var r = 1;
  while (e > 0) {
    if ((e & 1) == 1) { r = r * base; }
    base = base * base;
    e = e >> 1u;
  }
  return r;
}`,
  },
};

/** Source of the named helpers and everything they depend on, each once, callees first. */
export function mathHelpers(names: readonly string[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    const h = HELPERS[n];
    if (!h) throw new Error(`mathHelpers: unknown helper ${n}`);
    h.deps.forEach(visit);
    out.push(h.code.trim());
  };
  names.forEach(visit);
  return out.join('\n\n');
}
