// pytorch-grad-cam's perturbation-confidence family (metrics/perturbation_confidence.py, cam_mult_image.py,
// road.py), with the package's semantics:
//
//   perturbationConfidence: s = target(model(x)); each sample is perturbed by perturbation(x_n, cam_n);
//       s' = target(model(x')); result s' − s (or s' with returnDiff false). A target may return a vector
//       (SoftmaxOutputTarget, RawScoresOutputTarget): then each sample's result is that vector's change.
//   removeMostRelevantFirst(p, imputer): keep = [cam < percentile_p(cam)] (numpy's linear percentile), so
//       the top (100 − p) % is handed to the imputer as removed; removeLeastRelevantFirst: the same on 1 − cam.
//       p = 'auto' reproduces the package exactly: keep = 255·[uint8(255·cam) > Otsu threshold] — note
//       that this marks the MOST relevant pixels as kept, with the value 255 (a quirk of the package).
//   dropInConfidence = max(−(s' − s), 0) and increaseInConfidence = [s' − s > 0] with x' = x ⊙ cam;
//   averageAcrossThresholds(metricAt, percentiles): the mean of metricAt(p) over the percentiles.
// The ROAD members (remove-and-debias with the noisy linear imputer) are in ./road.ts; thin wrappers with
// the package's names and defaults are at the end.
import { Tensor } from '../../core/tensor';
import { tensor } from '../../core/ops/creation';
import { mul } from '../../core/ops/elementwise';
import { select, unsqueeze } from '../../core/ops/views';
import { stack } from '../../core/ops/indexing';
import { noGrad } from '../../core/grad-mode';
import { tidy, keep } from '../../core/scope';
import { fmtShape } from '../../core/shape';
import { makeRng } from '../../core/random';
import { checkModel, runModel, type ModelLike } from '../methods/forward-scores';
import { checkInputAndCams, resolveTargets, type MetricTarget } from './common';
import { percentile, road } from './road';
import { noisyLinearImpute } from './imputer';
import type { Target } from '../targets';

/** One image C×H×W and its CAM H×W → the perturbed image C×H×W (on the image's device). */
export type Perturbation = (image: Tensor, cam: Tensor) => Tensor | Promise<Tensor>;
/** One image C×H×W and a keep-mask H×W (0 = remove) → the image with the removed pixels replaced. */
export type Imputer = (image: Tensor, keep: Tensor) => Tensor | Promise<Tensor>;
/** A metric with one number per sample (scalar targets). */
export type PerturbationMetric = (model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[]) => Promise<number[]>;

export interface PerturbationConfidenceOptions {
  /** s' − s (default) or s'. */
  returnDiff?: boolean;
  /** Also return the perturbed batch. */
  returnVisualization?: boolean;
}

export interface PerturbationConfidenceResult {
  /** Per sample, the target's value(s): one number for scalar targets, a vector for vector targets. */
  scores: number[][];
  /** The perturbed N×C×H×W batch (returnVisualization). */
  perturbed?: Tensor;
}

/** target_n(out_n) for every sample, as float32 numbers (vectors flattened). */
async function targetValues(out: Tensor, targets: readonly Target[], who: string): Promise<number[][]> {
  if (!(out instanceof Tensor) || out.rank < 1 || out.shape[0] !== targets.length) {
    throw new Error(`${who}: the model must return one output per sample (${targets.length}), got ${out instanceof Tensor ? fmtShape(out.shape) : typeof out}`);
  }
  const rows: number[][] = [];
  for (let n = 0; n < targets.length; n++) {
    const t = targets[n];
    const v = tidy(() => {
      const s = typeof t === 'function' ? t(select(out, 0, n)) : t.call(select(out, 0, n));
      if (!(s instanceof Tensor)) throw new TypeError(`${who}: target ${n} must return a Tensor`);
      return keep(s.contiguous());
    });
    rows.push(Array.from(await v.data(), (x) => Math.fround(x)));
    v.dispose();
  }
  return rows;
}

async function scoresOf(model: ModelLike, x: Tensor, targets: readonly Target[], who: string): Promise<number[][]> {
  const out = noGrad(() => runModel(model, x));
  try {
    return await targetValues(out, targets, who);
  } finally {
    out.dispose();
  }
}

export async function perturbationConfidence(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], perturbation: Perturbation, opts: PerturbationConfidenceOptions = {}): Promise<PerturbationConfidenceResult> {
  const who = 'perturbationConfidence';
  checkModel(model, who);
  const { N } = checkInputAndCams(input, cams, who);
  const ts = resolveTargets(targets, N, who);
  if (typeof perturbation !== 'function') throw new TypeError(`${who}: perturbation must be a function (image C×H×W, cam H×W) => Tensor`);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: options must be an object {returnDiff, returnVisualization}`);
  const returnDiff = opts.returnDiff ?? true;
  const before = returnDiff ? await scoresOf(model, input, ts, who) : null;
  const parts: Tensor[] = [];
  const views: Tensor[] = [];
  try {
    for (let n = 0; n < N; n++) {
      const img = select(input, 0, n);
      const cam = select(cams, 0, n);
      views.push(img, cam);
      const p = await perturbation(img, cam);
      if (!(p instanceof Tensor) || p.rank !== 3 || p.shape.some((d, i) => d !== img.shape[i])) {
        throw new Error(`${who}: perturbation must return a tensor shaped like the image ${fmtShape(img.shape)}, got ${p instanceof Tensor ? fmtShape(p.shape) : typeof p}`);
      }
      parts.push(p);
    }
    const perturbed = keep(tidy(() => stack(parts, 0)));
    const after = await scoresOf(model, perturbed, ts, who);
    const scores = before ? after.map((row, n) => {
      if (row.length !== before[n].length) throw new Error(`${who}: target ${n} returned ${before[n].length} values before and ${row.length} after the perturbation`);
      return row.map((v, k) => Math.fround(v - before[n][k]));
    }) : after;
    if (opts.returnVisualization) return { scores, perturbed };
    perturbed.dispose();
    return { scores };
  } finally {
    // a perturbation may return its input view itself: free each tensor once
    for (const t of new Set([...parts, ...views])) t.dispose();
  }
}

function scalarRows(scores: number[][], who: string): number[] {
  return scores.map((r, n) => {
    if (r.length !== 1) throw new Error(`${who}: target ${n} returns ${r.length} values; this metric needs one score per sample (use perturbationConfidence for vector targets)`);
    return r[0];
  });
}

/** A PerturbationMetric from a perturbation (pytorch-grad-cam's PerturbationConfidenceMetric). */
export function perturbationMetric(perturbation: Perturbation, opts: { returnDiff?: boolean } = {}): PerturbationMetric {
  return async (model, input, cams, targets) => scalarRows((await perturbationConfidence(model, input, cams, targets, perturbation, opts)).scores, 'perturbationMetric');
}

/** x ⊙ cam (pytorch-grad-cam's multiply_tensor_with_cam, on the normalised input). */
export const multiplyTensorWithCam: Perturbation = (image, cam) => mul(image, unsqueeze(cam, 0));

/** max(−(score(x ⊙ cam) − score(x)), 0) per sample. */
export async function dropInConfidence(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[]): Promise<number[]> {
  const r = await perturbationConfidence(model, input, cams, targets, multiplyTensorWithCam);
  return scalarRows(r.scores, 'dropInConfidence').map((d) => Math.max(-d, 0));
}

/** 1 where score(x ⊙ cam) > score(x), else 0, per sample. */
export async function increaseInConfidence(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[]): Promise<number[]> {
  const r = await perturbationConfidence(model, input, cams, targets, multiplyTensorWithCam);
  return scalarRows(r.scores, 'increaseInConfidence').map((d) => (d > 0 ? 1 : 0));
}

/** OpenCV's THRESH_OTSU threshold of 8-bit values (getThreshVal_Otsu_8u). */
export function otsuThreshold(values: ArrayLike<number>): number {
  const hist = new Float64Array(256);
  for (let i = 0; i < values.length; i++) hist[values[i]]++;
  const scale = 1 / values.length;
  let mu = 0;
  for (let i = 0; i < 256; i++) mu += i * hist[i];
  mu *= scale;
  let mu1 = 0, q1 = 0, maxSigma = 0, maxVal = 0;
  const FLT_EPSILON = 1.1920928955078125e-7;
  for (let i = 0; i < 256; i++) {
    const p = hist[i] * scale;
    mu1 *= q1;
    q1 += p;
    const q2 = 1 - q1;
    if (Math.min(q1, q2) < FLT_EPSILON || Math.max(q1, q2) > 1 - FLT_EPSILON) continue;
    mu1 = (mu1 + i * p) / q1;
    const mu2 = (mu - q1 * mu1) / q2;
    const sigma = q1 * q2 * (mu1 - mu2) * (mu1 - mu2);
    if (sigma > maxSigma) {
      maxSigma = sigma;
      maxVal = i;
    }
  }
  return maxVal;
}

/** The package's keep-mask of one CAM (see the header for 'auto'). */
export function keepMask(cam: Float32Array, p: number | 'auto'): Float32Array {
  if (p === 'auto') {
    const bytes = Uint8Array.from(cam, (v) => Math.trunc(Math.fround(v * 255)) & 255);
    const t = otsuThreshold(bytes);
    return Float32Array.from(bytes, (b) => (b > t ? 255 : 0));
  }
  const thr = percentile(cam, p);
  return Float32Array.from(cam, (v) => (v < thr ? 1 : 0));
}

function checkPercentile(p: unknown, who: string): number | 'auto' {
  if (p !== 'auto' && (typeof p !== 'number' || !(p >= 0 && p <= 100))) throw new RangeError(`${who}: percentile must be a number in [0, 100] or 'auto', got ${String(p)}`);
  return p as number | 'auto';
}

function removeBy(p: number | 'auto', imputer: Imputer, invert: boolean, who: string): Perturbation {
  checkPercentile(p, who);
  if (typeof imputer !== 'function') throw new TypeError(`${who}: imputer must be a function (image C×H×W, keep H×W) => Tensor`);
  return async (image, cam) => {
    const c = Float32Array.from(await cam.data(), (v) => (invert ? Math.fround(1 - v) : v));
    const m = tensor(keepMask(c, p), [...cam.shape], { device: cam.device });
    try {
      return await imputer(image, m);
    } finally {
      m.dispose();
    }
  };
}

/** Removes the top (100 − p) % of the CAM (pytorch-grad-cam's RemoveMostRelevantFirst). */
export function removeMostRelevantFirst(p: number | 'auto', imputer: Imputer): Perturbation {
  return removeBy(p, imputer, false, 'removeMostRelevantFirst');
}

/** Removes the bottom (100 − p) % of the CAM: the same on 1 − cam (RemoveLeastRelevantFirst). */
export function removeLeastRelevantFirst(p: number | 'auto', imputer: Imputer): Perturbation {
  return removeBy(p, imputer, true, 'removeLeastRelevantFirst');
}

/** image ⊙ keep: removed pixels become 0 (the dataset's mean colour for a normalised input). */
export const multiplyImputer: Imputer = (image, keepM) => mul(image, unsqueeze(keepM, 0));

/**
 * ROAD's noisy linear imputer as an Imputer (pixels where keep = 0 are imputed). The noise is drawn from a
 * generator seeded with `seed` (the package uses torch.randn_like; noise 0 makes it deterministic).
 */
export function noisyLinearImputer(opts: { noise?: number; seed?: number } = {}): Imputer {
  const noise = opts.noise ?? 0.01;
  const rng = makeRng(opts.seed ?? 0);
  return async (image, keepM) => {
    const [C, H, W] = image.shape;
    const k = await keepM.data();
    const removed = Uint8Array.from(k, (v) => (v === 0 ? 1 : 0));
    const out = noisyLinearImpute(await image.data(), [C, H, W], removed, { noise, normal: rng.normal });
    return tensor(out, [C, H, W], { device: image.device });
  };
}

/** The mean of metricAt(p)(...) over the percentiles (AveragerAcrossThresholds). */
export function averageAcrossThresholds(metricAt: (p: number) => PerturbationMetric, percentiles: readonly number[] = [10, 20, 30, 40, 50, 60, 70, 80, 90]): PerturbationMetric {
  if (typeof metricAt !== 'function') throw new TypeError('averageAcrossThresholds: metricAt must be a function (percentile) => metric');
  if (!Array.isArray(percentiles) || percentiles.length === 0) throw new RangeError('averageAcrossThresholds: percentiles must be a non-empty array');
  return async (model, input, cams, targets) => {
    let total: number[] | null = null;
    for (const p of percentiles) {
      const s = await metricAt(p)(model, input, cams, targets);
      total = total ? total.map((t, n) => t + s[n]) : [...s];
    }
    return total!.map((t) => Math.fround(t / percentiles.length));
  };
}

export interface RoadWrapperOptions {
  noise?: number;
  seed?: number;
}

/** ROADMostRelevantFirst(percentile = 80). */
export function roadMostRelevantFirst(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], opts: RoadWrapperOptions & { percentile?: number } = {}): Promise<number[]> {
  return road(model, input, cams, targets, { mode: 'morf', percentiles: [opts.percentile ?? 80], noise: opts.noise, seed: opts.seed });
}

/** ROADLeastRelevantFirst(percentile = 20). */
export function roadLeastRelevantFirst(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], opts: RoadWrapperOptions & { percentile?: number } = {}): Promise<number[]> {
  return road(model, input, cams, targets, { mode: 'lerf', percentiles: [opts.percentile ?? 20], noise: opts.noise, seed: opts.seed });
}

/** ROADMostRelevantFirstAverage(percentiles = 10..90). */
export function roadMostRelevantFirstAverage(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], opts: RoadWrapperOptions & { percentiles?: number[] } = {}): Promise<number[]> {
  return road(model, input, cams, targets, { ...opts, mode: 'morf' });
}

/** ROADLeastRelevantFirstAverage(percentiles = 10..90). */
export function roadLeastRelevantFirstAverage(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], opts: RoadWrapperOptions & { percentiles?: number[] } = {}): Promise<number[]> {
  return road(model, input, cams, targets, { ...opts, mode: 'lerf' });
}

/** ROADCombined: (LeRF average − MoRF average) / 2. */
export function roadCombined(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], opts: RoadWrapperOptions & { percentiles?: number[] } = {}): Promise<number[]> {
  return road(model, input, cams, targets, { ...opts, mode: 'combined' });
}
