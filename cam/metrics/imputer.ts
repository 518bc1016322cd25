// ROAD's noisy linear imputer (Rong et al., ICML 2022; pytorch-grad-cam's NoisyLinearImputer). Removed
// pixels are filled in so that each one equals the weighted mean of its 8 neighbours inside the image,
//   x_i = Σ_j w_ij x_j / Σ_j w_ij,   w = 1/6 for the 4 edge neighbours, 1/12 for the 4 diagonal ones,
// where neighbours that were not removed keep their values. That is one sparse linear system per channel,
//   s_i·x_i − Σ_{j removed} w_ij·x_j = Σ_{j kept} w_ij·v_j,   s_i = Σ_{j in the image} w_ij,
// symmetric and positive definite when every group of removed pixels touches a kept one. The reference
// solves it directly (scipy spsolve); we use conjugate gradients with a diagonal preconditioner to a
// relative residual of 1e-10, far below float32 resolution. Then noise·N(0, 1) is added to every imputed
// value, so the model cannot detect the removal from unnaturally smooth patches. A removed region with no
// kept neighbour at all (e.g. every pixel removed) has no information: it gets 0 before the noise.

const NEIGHBOURS: readonly [number, number, number][] = [
  [-1, -1, 1 / 12], [-1, 0, 1 / 6], [-1, 1, 1 / 12],
  [0, -1, 1 / 6], [0, 1, 1 / 6],
  [1, -1, 1 / 12], [1, 0, 1 / 6], [1, 1, 1 / 12],
];

export interface ImputeOptions {
  /** Standard deviation of the added noise; default 0.01 (pytorch-grad-cam's). */
  noise?: number;
  /** Source of N(0, 1) samples (a seeded generator); required when noise > 0. */
  normal?: () => number;
}

/**
 * One image C×H×W (channel-major values) with the pixels where removed[h·W + w] is true imputed.
 * Returns a new array; kept pixels are copied unchanged.
 */
export function noisyLinearImpute(image: ArrayLike<number>, shape: readonly [number, number, number], removed: ArrayLike<boolean | number>, opts: ImputeOptions = {}): Float32Array {
  const [C, H, W] = shape;
  const P = H * W;
  if (image.length !== C * P) throw new Error(`noisyLinearImpute: image has ${image.length} values, expected C·H·W = ${C * P}`);
  if (removed.length !== P) throw new Error(`noisyLinearImpute: removed has ${removed.length} entries, expected H·W = ${P}`);
  const noise = opts.noise ?? 0.01;
  if (!(noise >= 0)) throw new RangeError(`noisyLinearImpute: noise must be ≥ 0, got ${noise}`);
  if (noise > 0 && typeof opts.normal !== 'function') throw new TypeError('noisyLinearImpute: normal (a seeded N(0, 1) generator) is required when noise > 0');

  // unknown index of each removed pixel, and its neighbour lists
  const varOf = new Int32Array(P).fill(-1);
  const pixels: number[] = [];
  for (let p = 0; p < P; p++) if (removed[p]) varOf[p] = pixels.push(p) - 1;
  const n = pixels.length;
  const out = Float32Array.from(image);
  if (n === 0) return out;
  const diag = new Float64Array(n);
  const offRow: number[][] = []; // removed neighbours: [variable, weight]
  const keptRow: number[][] = []; // kept neighbours: [pixel, weight]
  pixels.forEach((p, i) => {
    const h = Math.floor(p / W), w = p % W;
    const off: number[] = [], kept: number[] = [];
    for (const [dh, dw, wt] of NEIGHBOURS) {
      const hh = h + dh, ww = w + dw;
      if (hh < 0 || hh >= H || ww < 0 || ww >= W) continue;
      diag[i] += wt;
      const q = hh * W + ww;
      if (varOf[q] >= 0) off.push(varOf[q], wt);
      else kept.push(q, wt);
    }
    offRow.push(off);
    keptRow.push(kept);
  });
  const apply = (x: Float64Array, y: Float64Array): void => {
    for (let i = 0; i < n; i++) {
      let v = diag[i] * x[i];
      const off = offRow[i];
      for (let k = 0; k < off.length; k += 2) v -= off[k + 1] * x[off[k]];
      y[i] = v;
    }
  };
  for (let c = 0; c < C; c++) {
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const kept = keptRow[i];
      for (let k = 0; k < kept.length; k += 2) b[i] += kept[k + 1] * image[c * P + kept[k]];
    }
    const x = conjugateGradient(apply, b, diag);
    for (let i = 0; i < n; i++) out[c * P + pixels[i]] = x[i] + (noise > 0 ? noise * opts.normal!() : 0);
  }
  return out;
}

/** Preconditioned conjugate gradients for A·x = b (A symmetric positive semi-definite, b in its range). */
function conjugateGradient(apply: (x: Float64Array, y: Float64Array) => void, b: Float64Array, diag: Float64Array): Float64Array {
  const n = b.length;
  const x = new Float64Array(n);
  const r = Float64Array.from(b);
  const z = new Float64Array(n);
  const p = new Float64Array(n);
  const Ap = new Float64Array(n);
  const dot = (a: Float64Array, c: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * c[i];
    return s;
  };
  const bNorm = Math.sqrt(dot(b, b));
  if (bNorm === 0) return x;
  for (let i = 0; i < n; i++) z[i] = r[i] / (diag[i] || 1);
  p.set(z);
  let rz = dot(r, z);
  for (let it = 0; it < 10 * n + 100; it++) {
    apply(p, Ap);
    const pAp = dot(p, Ap);
    if (pAp <= 0) break; // only in a null-space direction: nothing left to solve
    const alpha = rz / pAp;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * Ap[i];
    }
    if (Math.sqrt(dot(r, r)) <= 1e-10 * bNorm) break;
    for (let i = 0; i < n; i++) z[i] = r[i] / (diag[i] || 1);
    const rzNew = dot(r, z);
    const beta = rzNew / rz;
    rz = rzNew;
    for (let i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
  }
  return x;
}
