// The Finer-CAM paper's relative confidence drop (Eq. 10, reported as RD@0.05): mask the k % of pixels
// the CAM ranks highest and compare how much the explained class loses with how much the similar
// (reference) classes lose:
//   p = softmax(model(x)),  p* = softmax(model(x with the top k % CAM pixels replaced)),
//   RD = (p_c − p*_c) − mean_{r ∈ references} (p_r − p*_r).
// A map that points at what tells class c apart from its look-alikes removes evidence for c but not for
// them, so RD is large; a map of evidence shared by all of them lowers every class and RD stays small.
//
// Choices the paper leaves open (see cam-semantics §6), made here and exposed as options:
//   - top k % = the round(k·H·W/100) highest-ranked pixels (at least one), ties in index order, so
//     exactly that many pixels are masked even when CAM values repeat (a ≥-quantile threshold would
//     mask every tied pixel);
//   - masked pixels become 0 in the model's (normalised) input by default — the dataset's mean colour,
//     as the re-implementations we found do ('mean' and 'blur' are the alternatives, see PixelFill);
//   - with several references (Finer-CAM's default compares with 3) their drops are averaged, the same
//     aggregation as the paper's Eq. 8 objective; a sample without references gets referenceDrop 0 and
//     RD = the plain confidence drop.
// `mainCategories` / `referenceCategories` have FinerCAM's result shapes (FinerResult.mainCategories
// and .references), so its output can be passed straight in.
import type { Tensor } from '../../core/tensor';
import { tensor } from '../../core/ops/creation';
import { gt, where } from '../../core/ops/elementwise';
import { softmax } from '../../core/ops/softmax';
import { tidy } from '../../core/scope';
import { noGrad } from '../../core/grad-mode';
import { fmtShape } from '../../core/shape';
import { checkModel, runModel, type ModelLike } from '../methods/forward-scores';
import { camValues, checkFill, checkInputAndCams, checkPositive, rankDescending, substrate, type PixelFill } from './common';

export interface RelativeDropOptions {
  /** The explained class of each sample. */
  mainCategories: readonly number[];
  /** The reference (similar) classes of each sample. */
  referenceCategories: readonly (readonly number[])[];
  /** Percentage of pixels to mask, in (0, 100]; default 5 (the paper's RD@0.05). */
  percent?: number;
  /** What masked pixels become; default 'zero'. */
  fill?: PixelFill;
  /** Standard deviation (pixels) of the blur for fill 'blur'; default 5. */
  blurSigma?: number;
}

export interface RelativeDropResult {
  /** RD per sample. */
  rd: number[];
  /** p_c − p*_c per sample. */
  mainDrop: number[];
  /** mean over references of p_r − p*_r per sample. */
  referenceDrop: number[];
  /** Pixels masked in each image. */
  maskedPixels: number;
}

/** round(percent·pixels/100), at least 1 (Math.round's half-up, written out so Python can match it). */
export function topCount(percent: number, pixels: number): number {
  return Math.max(1, Math.floor((percent * pixels) / 100 + 0.5));
}

function checkClass(c: unknown, K: number, who: string, arg: string): number {
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c >= K) throw new RangeError(`${who}: ${arg} must be a class index in 0..${K - 1}, got ${String(c)}`);
  return c;
}

export async function relativeConfidenceDrop(model: ModelLike, input: Tensor, cams: Tensor, opts: RelativeDropOptions): Promise<RelativeDropResult> {
  const who = 'relativeConfidenceDrop';
  checkModel(model, who);
  const { N, H, W } = checkInputAndCams(input, cams, who);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: expected options {mainCategories, referenceCategories, percent, fill}`);
  const percent = opts.percent ?? 5;
  if (typeof percent !== 'number' || !(percent > 0 && percent <= 100)) throw new RangeError(`${who}: percent must be in (0, 100], got ${String(percent)}`);
  const fill = checkFill(opts.fill ?? 'zero', who);
  const sigma = checkPositive(opts.blurSigma ?? 5, who, 'blurSigma');
  const mains = opts.mainCategories;
  const refs = opts.referenceCategories;
  if (!Array.isArray(mains) || mains.length !== N) throw new Error(`${who}: mainCategories must have one class per sample (${N}), got ${Array.isArray(mains) ? mains.length : typeof mains}`);
  if (!Array.isArray(refs) || refs.length !== N || !refs.every(Array.isArray)) {
    throw new Error(`${who}: referenceCategories must have one array of classes per sample (${N})`);
  }

  // the mask: 1 at the top-k pixels of each sample's CAM
  const cam = await camValues(cams, who);
  const k = topCount(percent, H * W);
  const mask = new Float32Array(N * H * W);
  for (let n = 0; n < N; n++) {
    const order = rankDescending(cam.subarray(n * H * W, (n + 1) * H * W));
    for (let i = 0; i < k; i++) mask[n * H * W + order[i]] = 1;
  }

  const probs = async (x: () => Tensor): Promise<{ p: Float32Array; K: number }> => {
    const t = tidy(() => noGrad(() => {
      const z = runModel(model, x());
      if (z.rank !== 2 || z.shape[0] !== N) throw new Error(`${who}: the model must return N×K logits, got ${fmtShape(z.shape)}`);
      return softmax(z, 1);
    }));
    try {
      return { p: Float32Array.from(await t.data()), K: t.shape[1] };
    } finally {
      t.dispose();
    }
  };
  const before = await probs(() => input);
  const after = await probs(() => {
    const m = gt(tensor(mask, [N, 1, H, W], { device: input.device }), 0);
    return where(m, substrate(input, fill, sigma), input);
  });

  const K = before.K;
  const drop = (n: number, c: number) => before.p[n * K + c] - after.p[n * K + c];
  const result: RelativeDropResult = { rd: [], mainDrop: [], referenceDrop: [], maskedPixels: k };
  for (let n = 0; n < N; n++) {
    const c = checkClass(mains[n], K, who, `mainCategories[${n}]`);
    const rs = refs[n].map((r, j) => checkClass(r, K, who, `referenceCategories[${n}][${j}]`));
    const main = drop(n, c);
    const ref = rs.length ? rs.reduce((s, r) => s + drop(n, r), 0) / rs.length : 0;
    result.mainDrop.push(main);
    result.referenceDrop.push(ref);
    result.rd.push(main - ref);
  }
  return result;
}
