// Finite-difference gradient check in float64 on the CPU backend, for any op built from the public API.
//
//   await gradcheck((x, w) => F.matmul(x, w).tanh(), [x, w]);
//
// The inputs must be float64 tensors; those with requiresGrad set are checked, the others are constants.
// fn may return a tensor of any shape: the check differentiates L = Σ y · u for a fixed seeded random u
// (so every output element and every sign matters), comparing grad() against central differences
// (L(x + εe_i) − L(x − εe_i)) / 2ε element by element. It throws on the first mismatch with the input,
// the element's index, both values and the tolerance; otherwise it resolves to the largest errors seen.
//
// Keep inputs away from kinks (|x| for abs/relu, ties for max/min/clamp) by much more than eps, and at
// sizes of a few dozen elements: every element costs two evaluations of fn.
import * as F from '../../index';
import type { Tensor } from '../../index';
import { GRADCHECK_EPS, TOL } from '../tolerances';

export interface GradcheckOptions {
  /** Step of the central difference (default GRADCHECK_EPS). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed of the random upstream gradient u. */
  seed?: number;
}

export interface GradcheckResult {
  /** Number of (input, element) pairs compared. */
  checked: number;
  maxAbsError: number;
  /** Largest |analytic − numeric| / |numeric| over the elements with |numeric| > atol. */
  maxRelError: number;
}

export class GradcheckError extends Error {
  override name = 'GradcheckError';
}

function multiIndex(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

export async function gradcheck(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  opts: GradcheckOptions = {},
): Promise<GradcheckResult> {
  const eps = opts.eps ?? GRADCHECK_EPS;
  const atol = opts.atol ?? TOL.gradcheck.atol;
  const rtol = opts.rtol ?? TOL.gradcheck.rtol;
  inputs.forEach((t, i) => {
    if (t.dtype !== 'float64') throw new TypeError(`gradcheck: inputs[${i}] must be float64, got ${t.dtype}`);
    if (t.device !== 'cpu') throw new TypeError(`gradcheck: inputs[${i}] must be on the CPU backend, got ${t.device}`);
  });
  const shapes = inputs.map((t) => [...t.shape]);
  const values = await Promise.all(inputs.map(async (t) => Float64Array.from(await t.data())));
  const wanted = inputs.map((t) => t.requiresGrad);
  if (!wanted.some(Boolean)) throw new Error('gradcheck: no input has requiresGrad set; nothing to check');
  const make = (i: number, data: Float64Array, requiresGrad: boolean): Tensor =>
    F.tensor(data, shapes[i], { dtype: 'float64', requiresGrad });

  // Analytic gradients of L = Σ y·u.
  const rng = F.makeRng(opts.seed ?? 1234);
  let u: Float64Array | null = null;
  const analytic = await (async () => {
    const leaves = inputs.map((_, i) => make(i, values[i], wanted[i]));
    const y = fn(...leaves);
    if (y.dtype !== 'float64') throw new TypeError(`gradcheck: fn must return a float64 tensor, got ${y.dtype}`);
    u = Float64Array.from({ length: y.size }, () => Math.round((rng.uniform() * 2 - 1) * 64) / 64 || 0.5);
    const uT = F.tensor(u, [...y.shape], { dtype: 'float64' });
    const gradLeaves = leaves.filter((_, i) => wanted[i]);
    const gs = F.grad(y, gradLeaves, { gradOutputs: [uT], allowUnused: true });
    const out: (Float64Array | null)[] = [];
    let k = 0;
    for (let i = 0; i < inputs.length; i++) {
      if (!wanted[i]) {
        out.push(null);
        continue;
      }
      const g = gs[k++];
      out.push(g ? Float64Array.from(await g.data()) : new Float64Array(values[i].length));
    }
    return out;
  })();
  const upstream = u as unknown as Float64Array;

  const loss = async (i: number, data: Float64Array): Promise<number> => {
    const y = F.tidy(() => F.noGrad(() => fn(...inputs.map((_, j) => make(j, j === i ? data : values[j], false)))));
    const d = await y.data();
    y.dispose();
    let s = 0;
    for (let k = 0; k < d.length; k++) s += d[k] * upstream[k];
    return s;
  };

  let checked = 0;
  let maxAbsError = 0;
  let maxRelError = 0;
  for (let i = 0; i < inputs.length; i++) {
    const a = analytic[i];
    if (!a) continue;
    const x = Float64Array.from(values[i]);
    for (let j = 0; j < x.length; j++) {
      const x0 = x[j];
      x[j] = x0 + eps;
      const lp = await loss(i, x);
      x[j] = x0 - eps;
      const lm = await loss(i, x);
      x[j] = x0;
      const numeric = (lp - lm) / (2 * eps);
      const err = Math.abs(a[j] - numeric);
      checked++;
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        throw new GradcheckError(
          `gradcheck: input ${i} (shape [${shapes[i].join(', ')}]) element [${multiIndex(j, shapes[i]).join(', ')}]: ` +
            `analytic ${a[j]}, numeric ${numeric} (|diff| ${err}, atol ${atol}, rtol ${rtol}, eps ${eps})`,
        );
      }
      maxAbsError = Math.max(maxAbsError, err);
      if (Math.abs(numeric) > atol) maxRelError = Math.max(maxRelError, err / Math.abs(numeric));
    }
  }
  return { checked, maxAbsError, maxRelError };
}

/** Float64 leaf from nested arrays or a flat list + shape, requiring grad unless told otherwise. */
export function f64(data: number[], shape: readonly number[], requiresGrad = true): Tensor {
  return F.tensor(data, shape, { dtype: 'float64', requiresGrad });
}
