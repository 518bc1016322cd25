// Deletion and insertion curves (Petsiuk et al., RISE, BMVC 2018). Pixels are ordered by the CAM, most
// important first. Deletion replaces them with a substrate, `steps` equal chunks at a time, and records
// the target's score after each chunk; insertion starts from the substrate and puts the pixels back in
// the same order. With k_i = floor(i·H·W/steps) pixels moved at step i = 0..steps:
//   deletion_i  = score(x with its top k_i pixels replaced by the substrate),
//   insertion_i = score(substrate with its top k_i pixels taken from x),
//   AUC = trapezoidal area under the curve over [0, 1] = (Σ_i f_i − (f_0 + f_steps)/2) / steps.
// A faithful map gives a low deletion AUC (the score collapses early) and a high insertion AUC.
// Class-index targets score softmax probabilities, as RISE. The substrates default to RISE's: zeros
// for deletion, a blurred copy of the image for insertion.
import type { Tensor } from '../../core/tensor';
import { tensor } from '../../core/ops/creation';
import { gt, where } from '../../core/ops/elementwise';
import { expand, slice } from '../../core/ops/views';
import { tidy, keep } from '../../core/scope';
import { noGrad } from '../../core/grad-mode';
import { checkBatchSize, checkModel, modelScores, type ModelLike } from '../methods/forward-scores';
import { camValues, checkFill, checkInputAndCams, checkPositive, rankDescending, resolveTargets, substrate, trapezoidAuc, type PixelFill, type MetricTarget } from './common';

export interface DeletionInsertionOptions {
  /** Number of chunks the pixels are moved in (the curves have steps + 1 points); default 20 (5 % each). */
  steps?: number;
  /** Substrate for both curves, or one per curve; default {deletion: 'zero', insertion: 'blur'} (RISE). */
  substrate?: PixelFill | { deletion: PixelFill; insertion: PixelFill };
  /** Standard deviation (pixels) of the 'blur' substrate; default 5 (RISE's). */
  blurSigma?: number;
  /** Perturbed images per forward pass; default 16. */
  batchSize?: number;
}

export interface DeletionInsertionResult {
  deletion: number[];
  insertion: number[];
  deletionCurves: number[][];
  insertionCurves: number[][];
}

function resolveSubstrates(sub: unknown, who: string): { deletion: PixelFill; insertion: PixelFill } {
  if (sub === undefined) return { deletion: 'zero', insertion: 'blur' };
  if (typeof sub === 'string') {
    const f = checkFill(sub, who, 'substrate');
    return { deletion: f, insertion: f };
  }
  if (sub === null || typeof sub !== 'object') throw new TypeError(`${who}: substrate must be 'zero', 'mean', 'blur' or {deletion, insertion}, got ${String(sub)}`);
  const { deletion, insertion } = sub as { deletion?: unknown; insertion?: unknown };
  return { deletion: checkFill(deletion, who, 'substrate.deletion'), insertion: checkFill(insertion, who, 'substrate.insertion') };
}

export async function deletionInsertionAuc(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], opts: DeletionInsertionOptions = {}): Promise<DeletionInsertionResult> {
  const who = 'deletionInsertionAuc';
  checkModel(model, who);
  const { N, H, W } = checkInputAndCams(input, cams, who);
  const ts = resolveTargets(targets, N, who);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: options must be an object {steps, substrate, blurSigma, batchSize}`);
  const steps = opts.steps ?? 20;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`${who}: steps must be a positive integer, got ${String(steps)}`);
  const subs = resolveSubstrates(opts.substrate, who);
  const sigma = checkPositive(opts.blurSigma ?? 5, who, 'blurSigma');
  const bs = checkBatchSize(opts.batchSize ?? 16, who);

  const cam = await camValues(cams, who);
  const P = H * W;
  const counts = Array.from({ length: steps + 1 }, (_, i) => Math.floor((i * P) / steps));
  const result: DeletionInsertionResult = { deletion: [], insertion: [], deletionCurves: [], insertionCurves: [] };
  for (let n = 0; n < N; n++) {
    // rank[p] = position of pixel p in the CAM order; a pixel has moved at step i when rank < k_i
    const order = rankDescending(cam.subarray(n * P, (n + 1) * P));
    const rank = new Int32Array(P);
    order.forEach((p, r) => (rank[p] = r));
    const xn = slice(input, 0, n, n + 1);
    const bases = tidy(() => noGrad(() => ({ del: substrate(xn, subs.deletion, sigma), ins: substrate(xn, subs.insertion, sigma) })));
    keep(bases.del);
    keep(bases.ins);
    try {
      const curve = async (first: Tensor, second: Tensor): Promise<number[]> => {
        // image i: `first` at the pixels moved by step i, `second` elsewhere
        const out: number[] = [];
        for (let i0 = 0; i0 <= steps; i0 += bs) {
          const i1 = Math.min(steps + 1, i0 + bs);
          const mask = new Float32Array((i1 - i0) * P);
          for (let i = i0; i < i1; i++) for (let p = 0; p < P; p++) if (rank[p] < counts[i]) mask[(i - i0) * P + p] = 1;
          const batch = () => {
            const m = gt(tensor(mask, [i1 - i0, 1, H, W], { device: input.device }), 0);
            const shape = [i1 - i0, ...xn.shape.slice(1)];
            return where(m, expand(first, shape), expand(second, shape));
          };
          out.push(...(await modelScores(model, batch, ts[n], who)));
        }
        return out;
      };
      const del = await curve(bases.del, xn);
      const ins = await curve(xn, bases.ins);
      result.deletionCurves.push(del);
      result.insertionCurves.push(ins);
      result.deletion.push(trapezoidAuc(del));
      result.insertion.push(trapezoidAuc(ins));
    } finally {
      bases.del.dispose();
      bases.ins.dispose();
      xn.dispose();
    }
  }
  return result;
}
