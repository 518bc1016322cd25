// ROAD — RemOve And Debias (Rong et al., ICML 2022), as pytorch-grad-cam's ROAD metrics. Pixels are
// removed by CAM rank and filled in by the noisy linear imputer (./imputer.ts), whose fill carries no
// trace of the removed shape, and the change of the target's score is measured:
//   MoRF at percentile p (most relevant first): remove the pixels with cam ≥ percentile_p(cam), i.e.
//        the top (100 − p) %;  score change = score(imputed) − score(x)  (a good map: a big drop);
//   LeRF at percentile p (least relevant first): remove the pixels with 1 − cam ≥ percentile_p(1 − cam),
//        the bottom (100 − p) %;  (a good map: little change);
//   mode 'morf' / 'lerf': the mean over `percentiles`;  'combined': (LeRF − MoRF) / 2 (higher = better).
// The percentile is numpy's default (linear interpolation between order statistics). The imputation
// noise comes from a generator seeded with `seed`, so results are reproducible.
import type { Tensor } from '../../core/tensor';
import { tensor } from '../../core/ops/creation';
import { makeRng } from '../../core/random';
import { checkModel, modelScores, type ModelLike } from '../methods/forward-scores';
import { camValues, checkInputAndCams, resolveTargets, type MetricTarget } from './common';
import { noisyLinearImpute } from './imputer';

export type RoadMode = 'morf' | 'lerf' | 'combined';

export interface RoadOptions {
  /** Percentiles p in (0, 100); default [10, 20, ..., 90] (pytorch-grad-cam's). */
  percentiles?: readonly number[];
  /** Default 'combined'. */
  mode?: RoadMode;
  /** Imputation noise std; default 0.01. */
  noise?: number;
  /** Seed of the imputation noise; default 0. */
  seed?: number;
}

/** numpy.percentile(values, p) with the default 'linear' method (its lerp, including the t ≥ 0.5 form). */
export function percentile(values: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(values).sort();
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, s.length - 1);
  const t = pos - lo;
  const d = s[hi] - s[lo];
  return t >= 0.5 ? s[hi] - d * (1 - t) : s[lo] + d * t;
}

/** removed[p] = 1 where v[p] ≥ percentile_p(v) (pytorch-grad-cam keeps v < threshold). */
export function removalMask(v: ArrayLike<number>, p: number): Uint8Array {
  const thr = percentile(v, p);
  return Uint8Array.from(v as ArrayLike<number>, (x) => (x < thr ? 0 : 1));
}

export async function road(model: ModelLike, input: Tensor, cams: Tensor, targets: readonly MetricTarget[], opts: RoadOptions = {}): Promise<number[]> {
  const who = 'road';
  checkModel(model, who);
  const { N, C, H, W } = checkInputAndCams(input, cams, who);
  const ts = resolveTargets(targets, N, who);
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${who}: options must be an object {percentiles, mode, noise, seed}`);
  const percentiles = opts.percentiles ?? [10, 20, 30, 40, 50, 60, 70, 80, 90];
  if (!Array.isArray(percentiles) || percentiles.length === 0 || !percentiles.every((p) => typeof p === 'number' && p > 0 && p < 100)) {
    throw new RangeError(`${who}: percentiles must be a non-empty array of numbers in (0, 100), got ${JSON.stringify(percentiles)}`);
  }
  const mode = opts.mode ?? 'combined';
  if (mode !== 'morf' && mode !== 'lerf' && mode !== 'combined') throw new TypeError(`${who}: mode must be 'morf', 'lerf' or 'combined', got ${JSON.stringify(mode)}`);
  const noise = opts.noise ?? 0.01;
  if (typeof noise !== 'number' || !(noise >= 0) || !Number.isFinite(noise)) throw new RangeError(`${who}: noise must be a finite number ≥ 0, got ${String(noise)}`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new TypeError(`${who}: seed must be an integer, got ${String(seed)}`);

  const P = H * W;
  const cam = await camValues(cams, who);
  // LeRF ranks by 1 − cam, computed in float32 as pytorch-grad-cam does
  const inv = Float32Array.from(cam, (v) => 1 - v);
  const x = Float32Array.from(await input.data());
  const rng = makeRng(seed);
  const base = await modelScores(model, () => input, ts, who);

  /** Mean over the percentiles of score(imputed) − score(x), removing by `ranking` (cam or 1 − cam). */
  const meanChange = async (ranking: Float32Array): Promise<Float64Array> => {
    const total = new Float64Array(N);
    for (const p of percentiles) {
      const imputed = new Float32Array(N * C * P);
      for (let n = 0; n < N; n++) {
        const removed = removalMask(ranking.subarray(n * P, (n + 1) * P), p);
        imputed.set(noisyLinearImpute(x.subarray(n * C * P, (n + 1) * C * P), [C, H, W], removed, { noise, normal: rng.normal }), n * C * P);
      }
      const s = await modelScores(model, () => tensor(imputed, [N, C, H, W], { device: input.device }), ts, who);
      for (let n = 0; n < N; n++) total[n] += Math.fround(s[n] - base[n]);
    }
    return total.map((t) => t / percentiles.length);
  };
  if (mode === 'morf') return Array.from(await meanChange(cam));
  if (mode === 'lerf') return Array.from(await meanChange(inv));
  const lerf = await meanChange(inv);
  const morf = await meanChange(cam);
  return Array.from(lerf, (l, n) => (l - morf[n]) / 2);
}
