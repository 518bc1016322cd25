// Non-negative matrix factorisation X ≈ W·H (X: n×m ≥ 0, W: n×k, H: k×m), exactly as scikit-learn's
// NMF(n_components=k, init='random', random_state=seed) with its defaults — the call Deep Feature
// Factorization makes:
//   solver 'cd' (coordinate descent, Cichocki & Phan / Hsieh & Dhillon), beta_loss 'frobenius', no
//   regularisation, no shuffling, tol 1e-4, max_iter 200;
//   init 'random': avg = sqrt(mean(X) / k); H = |avg·N(0,1)| (k×m) then W = |avg·N(0,1)| (n×k), the normals
//   drawn from numpy's legacy RandomState(seed) (MT19937 + the polar Box–Muller method), so the start —
//   and hence the result — is the same as sklearn's.
// Each iteration updates every column of W (against HHᵀ and XHᵀ), then every column of Hᵀ (the transposed
// problem), coordinate by coordinate:  w ← max(w − grad/hess, 0), and sums |projected gradient| as the
// "violation"; it stops when violation / violation_of_iteration_1 ≤ tol. With float32 data sklearn works in
// float32 throughout; so do we (every step rounded with Math.fround; the two Gram products are summed in
// double and rounded once, where BLAS sums in float32 — differences of a few ulp).

/** numpy.random.RandomState(seed) for standard_normal: MT19937 seeded by init_genrand, legacy gauss. */
export class NumpyRandomState {
  private readonly mt = new Uint32Array(624);
  private pos = 624;
  private gauss: number | null = null;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`NumpyRandomState: seed must be an integer in 0..2^32-1, got ${seed}`);
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  private nextUint32(): number {
    const mt = this.mt;
    if (this.pos >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.pos = 0;
    }
    let y = mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) from 53 random bits (numpy's random_sample). */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  standardNormal(): number {
    if (this.gauss !== null) {
      const g = this.gauss;
      this.gauss = null;
      return g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.randomSample() - 1;
      x2 = 2 * this.randomSample() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gauss = f * x1;
    return f * x2;
  }
}

export interface NmfOptions {
  /** Default 0 (what DFF uses). */
  randomState?: number;
  /** Default 1e-4. */
  tol?: number;
  /** Default 200. */
  maxIter?: number;
  /** Start from these instead of the random init (sklearn's init='custom'): W n×k, H k×m, row-major. */
  initW?: Float32Array;
  initH?: Float32Array;
}

export interface NmfResult {
  /** n×k, row-major. */
  W: Float32Array;
  /** k×m, row-major. */
  H: Float32Array;
  nIter: number;
}

const f = Math.fround;

/** float32 mean with numpy's pairwise summation (blocks of 8 below 128 elements), as X.mean() on float32. */
function pairwiseSum(a: Float32Array, lo: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s = f(s + a[lo + i]);
    return s;
  }
  if (n <= 128) {
    const r = [a[lo], a[lo + 1], a[lo + 2], a[lo + 3], a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = f(r[j] + a[lo + i + j]);
    let s = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) s = f(s + a[lo + i]);
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2));
}

/** One sweep of coordinate descent over W (n×k) for X ≈ W·Htᵀ, given HHt (k×k) and XHt (n×k). */
function cdSweep(W: Float32Array, n: number, k: number, HHt: Float32Array, XHt: Float32Array): number {
  let violation = 0;
  for (let t = 0; t < k; t++) {
    const hess = HHt[t * k + t];
    for (let i = 0; i < n; i++) {
      let grad = f(-XHt[i * k + t]);
      for (let r = 0; r < k; r++) grad = f(grad + f(HHt[t * k + r] * W[i * k + r]));
      const w = W[i * k + t];
      const pg = w === 0 ? Math.min(0, grad) : grad;
      violation = f(violation + Math.abs(pg));
      if (hess !== 0) W[i * k + t] = Math.max(f(w - f(grad / hess)), 0);
    }
  }
  return violation;
}

/** AᵀA for A (rows×k, row-major), and X·A for X (n×rows): summed in double, rounded once. */
function gram(A: Float32Array, rows: number, k: number): Float32Array {
  const out = new Float32Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += A[r * k + a] * A[r * k + b];
      out[a * k + b] = out[b * k + a] = s;
    }
  }
  return out;
}

/** X·A with X n×m (row-major, or its transpose when `xT`), A m×k. */
function times(X: Float32Array, n: number, m: number, A: Float32Array, k: number, xT: boolean): Float32Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const x = xT ? X[j * n + i] : X[i * m + j];
      if (x === 0) continue;
      for (let c = 0; c < k; c++) out[i * k + c] += x * A[j * k + c];
    }
  }
  return Float32Array.from(out);
}

/** sklearn's NMF(k, init='random', random_state, solver='cd').fit_transform(X) on float32 X (n×m). */
export function nmf(X: Float32Array, n: number, m: number, k: number, opts: NmfOptions = {}): NmfResult {
  const who = 'nmf';
  if (X.length !== n * m) throw new Error(`${who}: X has ${X.length} values, expected ${n}×${m}`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${who}: the number of components must be a positive integer, got ${k}`);
  for (let i = 0; i < X.length; i++) {
    if (!(X[i] >= 0) || !Number.isFinite(X[i])) throw new RangeError(`${who}: X must be finite and non-negative, X[${i}] is ${X[i]}`);
  }
  const tol = opts.tol ?? 1e-4;
  const maxIter = opts.maxIter ?? 200;
  let W: Float32Array;
  let Ht: Float32Array; // m×k
  if (opts.initW || opts.initH) {
    if (!opts.initW || !opts.initH || opts.initW.length !== n * k || opts.initH.length !== k * m) {
      throw new Error(`${who}: initW (${n}×${k}) and initH (${k}×${m}) must be given together with those sizes`);
    }
    W = Float32Array.from(opts.initW);
    Ht = new Float32Array(m * k);
    for (let c = 0; c < k; c++) for (let j = 0; j < m; j++) Ht[j * k + c] = opts.initH[c * m + j];
  } else {
    const avg = f(Math.sqrt(f(pairwiseSum(X, 0, X.length) / X.length) / k));
    const rng = new NumpyRandomState(opts.randomState ?? 0);
    Ht = new Float32Array(m * k);
    for (let c = 0; c < k; c++) for (let j = 0; j < m; j++) Ht[j * k + c] = Math.abs(f(avg * f(rng.standardNormal())));
    W = new Float32Array(n * k);
    for (let i = 0; i < n * k; i++) W[i] = Math.abs(f(avg * f(rng.standardNormal())));
  }
  let violationInit = 0;
  let nIter = 0;
  for (let it = 1; it <= maxIter; it++) {
    nIter = it;
    let violation = cdSweep(W, n, k, gram(Ht, m, k), times(X, n, m, Ht, k, false));
    violation += cdSweep(Ht, m, k, gram(W, n, k), times(X, m, n, W, k, true)); // a Python float sum
    if (it === 1) violationInit = violation;
    if (violationInit === 0) break;
    if (violation / violationInit <= tol) break;
  }
  const H = new Float32Array(k * m);
  for (let c = 0; c < k; c++) for (let j = 0; j < m; j++) H[c * m + j] = Ht[j * k + c];
  return { W, H, nIter };
}
