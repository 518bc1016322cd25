// The CAM metrics on the tiny CNN, against test/reference/cam_metrics.py (PyTorch + scipy), plus
// properties of ROAD and its imputer (random noise: tested by properties, not numbers) and bad inputs.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadFixture } from '../helpers/fixtures';
import { TinyCNN, x2 } from '../helpers/tiny-cnn';
import { noisyLinearImpute } from '../../cam/metrics/imputer';
import { percentile, removalMask } from '../../cam/metrics/road';
import { rankDescending, trapezoidAuc } from '../../cam/metrics/common';
import { topCount } from '../../cam/metrics/relative-drop';

interface RdCase { percent: number; fill: F.PixelFill; blurSigma: number; rd: number[]; mainDrop: number[]; referenceDrop: number[]; maskedPixels: number }
interface DiCase { deletion: number[]; insertion: number[]; deletionCurves: number[][]; insertionCurves: number[][] }
interface MetricsFixture {
  classes: number[];
  cam_mult_softmax: number[];
  cam_mult_logit: number[];
  rd_refs: number[][];
  rd: Record<string, RdCase>;
  rd_no_refs: Omit<RdCase, 'percent' | 'fill' | 'blurSigma'>;
  deletion_insertion: { default_steps10: DiCase; mean_steps7: DiCase };
  impute: { removed: number[]; image: number[] };
  road_noise0: { percentiles: number[]; morf: number[]; lerf: number[]; combined: number[] };
}
const fx = loadFixture<MetricsFixture>('cam-metrics/metrics.json');

/** The fixture's CAMs: (sin(0.37·i + 0.2) + 1) / 2 in float32, 2×12×10. */
const cams = () => F.tensor(Float32Array.from({ length: 240 }, (_, i) => (Math.sin(0.37 * i + 0.2) + 1) / 2), [2, 12, 10]);
const model = new TinyCNN();

describe('camMultImageConfidenceChange', () => {
  test('class indices score softmax probabilities; targets score what they return (logits)', async () => {
    expectClose(await F.camMultImageConfidenceChange(model, x2(), cams(), fx.classes), fx.cam_mult_softmax, TOL.camMetric, 'softmax');
    const logit = fx.classes.map((c) => new F.ClassifierOutputTarget(c));
    expectClose(await F.camMultImageConfidenceChange(model, x2(), cams(), logit), fx.cam_mult_logit, TOL.camMetric, 'logit');
  });

  test('an all-ones CAM changes nothing', async () => {
    expect(await F.camMultImageConfidenceChange(model, x2(), F.ones([2, 12, 10]), fx.classes)).toEqual([0, 0]);
  });
});

describe('relativeConfidenceDrop (RD@k)', () => {
  for (const [name, c] of Object.entries(fx.rd)) {
    test(`${c.percent} %, fill ${c.fill}${c.fill === 'blur' ? ` σ ${c.blurSigma}` : ''}`, async () => {
      const r = await F.relativeConfidenceDrop(model, x2(), cams(), {
        mainCategories: fx.classes, referenceCategories: fx.rd_refs, percent: c.percent, fill: c.fill, blurSigma: c.blurSigma,
      });
      expect(r.maskedPixels).toBe(c.maskedPixels);
      expectClose(r.mainDrop, c.mainDrop, TOL.camMetric, `${name} main`);
      expectClose(r.referenceDrop, c.referenceDrop, TOL.camMetric, `${name} reference`);
      expectClose(r.rd, c.rd, TOL.camMetric, `${name} rd`);
    });
  }

  test('a sample without references: RD is the plain confidence drop', async () => {
    const r = await F.relativeConfidenceDrop(model, x2(), cams(), { mainCategories: fx.classes, referenceCategories: [[], [5]], percent: 10 });
    expect(r.referenceDrop[0]).toBe(0);
    expectClose(r.rd, fx.rd_no_refs.rd, TOL.camMetric, 'rd');
  });

  test('takes FinerCAM results as they are', async () => {
    const finer = new F.FinerCAM({ model, targetLayers: ['r2'] });
    const r = await finer.forward({ inputTensor: x2(), targetSize: [10, 12] });
    const rd = await F.relativeConfidenceDrop(model, x2(), r.cam, { mainCategories: r.mainCategories, referenceCategories: r.references });
    expect(rd.rd).toHaveLength(2);
    expect(rd.maskedPixels).toBe(6); // 5 % of 120
    rd.rd.forEach((v, n) => expect(v).toBeCloseTo(rd.mainDrop[n] - rd.referenceDrop[n], 12));
  });

  test('pixels are ranked by CAM value, highest first, ties in index order', () => {
    expect(Array.from(rankDescending([0.2, 0.9, 0.5, 0.9, 0]))).toEqual([1, 3, 2, 0, 4]);
  });

  test('top k % is round(k·H·W/100), at least one pixel', () => {
    expect(topCount(5, 120)).toBe(6);
    expect(topCount(5, 224 * 224)).toBe(2509);
    expect(topCount(0.1, 100)).toBe(1);
    expect(topCount(100, 120)).toBe(120);
    expect(topCount(12.5, 12)).toBe(2); // 1.5 rounds up
  });

  test('bad inputs name the argument', async () => {
    const opts = { mainCategories: fx.classes, referenceCategories: fx.rd_refs };
    const run = (o: object, c: F.Tensor = cams()) => F.relativeConfidenceDrop(model, x2(), c, { ...opts, ...o });
    for (const percent of [0, -5, 100.5, NaN]) await expect(run({ percent })).rejects.toThrow(/percent must be in \(0, 100\]/);
    await expect(run({ fill: 'grey' })).rejects.toThrow(/fill must be 'zero', 'mean' or 'blur'/);
    await expect(run({ blurSigma: 0, fill: 'blur' })).rejects.toThrow(/blurSigma must be a positive number/);
    await expect(run({}, F.ones([2, 6, 5]))).rejects.toThrow(/cams must be an N×H×W Tensor matching the input \(2×12×10\), got \[2, 6, 5\]/);
    await expect(run({}, F.ones([2, 1, 12, 10]))).rejects.toThrow(/cams must be an N×H×W Tensor/);
    await expect(run({ mainCategories: [1] })).rejects.toThrow(/mainCategories must have one class per sample \(2\)/);
    await expect(run({ referenceCategories: [[0], 3] })).rejects.toThrow(/referenceCategories must have one array of classes per sample/);
    await expect(run({ mainCategories: [1, 6] })).rejects.toThrow(/mainCategories\[1\] must be a class index in 0..5, got 6/);
    await expect(run({ referenceCategories: [[0], [-1]] })).rejects.toThrow(/referenceCategories\[1\]\[0\] must be a class index/);
    const nan = F.tensor(Float32Array.from({ length: 240 }, (_, i) => (i === 7 ? NaN : 0.5)), [2, 12, 10]);
    await expect(run({}, nan)).rejects.toThrow(/cams must be finite, element 7 is NaN/);
  });
});

describe('deletionInsertionAuc', () => {
  test('RISE substrates (zeros / blur), 10 steps', async () => {
    const r = await F.deletionInsertionAuc(model, x2(), cams(), fx.classes, { steps: 10, batchSize: 4 });
    const e = fx.deletion_insertion.default_steps10;
    expectClose(r.deletionCurves.flat(), e.deletionCurves.flat(), TOL.camMetric, 'deletion curves');
    expectClose(r.insertionCurves.flat(), e.insertionCurves.flat(), TOL.camMetric, 'insertion curves');
    expectClose(r.deletion, e.deletion, TOL.camMetric, 'deletion AUC');
    expectClose(r.insertion, e.insertion, TOL.camMetric, 'insertion AUC');
  });

  test("substrate 'mean' for both, 7 steps (chunks of 17 or 18 pixels)", async () => {
    const r = await F.deletionInsertionAuc(model, x2(), cams(), fx.classes, { steps: 7, substrate: 'mean' });
    const e = fx.deletion_insertion.mean_steps7;
    expectClose(r.deletionCurves.flat(), e.deletionCurves.flat(), TOL.camMetric, 'deletion curves');
    expectClose(r.insertionCurves.flat(), e.insertionCurves.flat(), TOL.camMetric, 'insertion curves');
    // deletion ends where insertion starts: both are the substrate alone
    r.deletionCurves.forEach((d, n) => expect(d[7]).toBe(r.insertionCurves[n][0]));
  });

  test('trapezoidal AUC over [0, 1]', () => {
    expect(trapezoidAuc([1, 1, 1])).toBe(1);
    expect(trapezoidAuc([0, 1])).toBe(0.5);
    expect(trapezoidAuc([1, 0.5, 0, 0])).toBeCloseTo((0.75 + 0.25 + 0) / 3, 15);
    expect(() => trapezoidAuc([1])).toThrow(/at least two points/);
  });

  test('bad inputs', async () => {
    const run = (o: object, t: readonly F.MetricTarget[] = fx.classes) => F.deletionInsertionAuc(model, x2(), cams(), t, o);
    await expect(run({ steps: 0 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(run({ steps: 2.5 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(run({ substrate: 'noise' })).rejects.toThrow(/substrate must be 'zero', 'mean' or 'blur'/);
    await expect(run({ substrate: { deletion: 'zero' } })).rejects.toThrow(/substrate.insertion must be/);
    await expect(run({ batchSize: 0 })).rejects.toThrow(/batchSize must be a positive integer/);
    await expect(run({}, [1])).rejects.toThrow(/got 1 targets for a batch of 2/);
    await expect(run({}, [1, 2.5])).rejects.toThrow(/targets\[1\] must be a class index/);
  });
});

describe('ROAD', () => {
  test('noise-free imputation equals the reference (scipy spsolve)', async () => {
    const x = await F.slice(x2(), 0, 0, 1).data();
    const out = noisyLinearImpute(x, [3, 12, 10], fx.impute.removed, { noise: 0 });
    expectClose(out, fx.impute.image, TOL.camMetric, 'imputed image');
  });

  test('noise-free MoRF / LeRF / combined match the reference', async () => {
    const { percentiles } = fx.road_noise0;
    for (const mode of ['morf', 'lerf', 'combined'] as const) {
      const r = await F.road(model, x2(), cams(), fx.classes, { percentiles, mode, noise: 0 });
      expectClose(r, fx.road_noise0[mode], TOL.camMetric, mode);
    }
  });

  test('property: with noise 0 every removed pixel is the weighted mean of its neighbours (1/6 edges, 1/12 diagonals)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (H, W, C, seed) => {
        const rng = F.makeRng(seed);
        const img = Float32Array.from({ length: C * H * W }, () => rng.uniform() * 4 - 2);
        const removed = Uint8Array.from({ length: H * W }, () => (rng.uniform() < 0.6 ? 1 : 0));
        if (removed.every((r) => r === 1)) removed[rng.int(H * W)] = 0; // keep one pixel: a unique solution
        const out = noisyLinearImpute(img, [C, H, W], removed, { noise: 0 });
        for (let c = 0; c < C; c++) {
          for (let p = 0; p < H * W; p++) {
            const v = out[c * H * W + p];
            if (!removed[p]) {
              expect(v).toBe(img[c * H * W + p]);
              continue;
            }
            // pixels cut off from every kept pixel carry no information and are 0
            let num = 0, den = 0;
            for (let dh = -1; dh <= 1; dh++) for (let dw = -1; dw <= 1; dw++) {
              const h = Math.floor(p / W) + dh, w = (p % W) + dw;
              if ((dh === 0 && dw === 0) || h < 0 || h >= H || w < 0 || w >= W) continue;
              const wt = dh === 0 || dw === 0 ? 1 / 6 : 1 / 12;
              num += wt * out[c * H * W + h * W + w];
              den += wt;
            }
            expect(Math.abs(v - num / den)).toBeLessThan(1e-5);
          }
        }
      }), { numRuns: 60, seed: 12345 });
  });

  test('property: the imputation noise is N(0, noise²) around the noise-free fill, and seeded', () => {
    const H = 40, W = 40;
    const rng = F.makeRng(5);
    const img = Float32Array.from({ length: H * W }, () => rng.uniform());
    const removed = Uint8Array.from({ length: H * W }, (_, p) => (p % 3 === 0 ? 1 : 0));
    const clean = noisyLinearImpute(img, [1, H, W], removed, { noise: 0 });
    const noisy = noisyLinearImpute(img, [1, H, W], removed, { noise: 0.01, normal: F.makeRng(9).normal });
    const again = noisyLinearImpute(img, [1, H, W], removed, { noise: 0.01, normal: F.makeRng(9).normal });
    expect(Array.from(noisy)).toEqual(Array.from(again));
    const d = Array.from(removed).flatMap((r, p) => (r ? [noisy[p] - clean[p]] : []));
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
    // 534 samples: the sample std is within ±15 % of 0.01 and the mean within ±0.002 with overwhelming odds
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(sd).toBeGreaterThan(0.0085);
    expect(sd).toBeLessThan(0.0115);
    Array.from(removed).forEach((r, p) => { if (!r) expect(noisy[p]).toBe(img[p]); });
  });

  test('property: scores are in range, reproducible with a seed, and the seed matters', async () => {
    const opts = { percentiles: [30, 70] };
    const a = await F.road(model, x2(), cams(), fx.classes, { ...opts, seed: 1 });
    const b = await F.road(model, x2(), cams(), fx.classes, { ...opts, seed: 1 });
    const c = await F.road(model, x2(), cams(), fx.classes, { ...opts, seed: 2 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // probabilities change by at most 1, so MoRF, LeRF ∈ [−1, 1] and (LeRF − MoRF)/2 ∈ [−1, 1]
    for (const mode of ['morf', 'lerf', 'combined'] as const) {
      const r = await F.road(model, x2(), cams(), fx.classes, { ...opts, mode });
      r.forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(1));
    }
  });

  test('property: MoRF removes the top (100 − p) %, LeRF the bottom (100 − p) %', () => {
    fc.assert(fc.property(fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 60 }), fc.integer({ min: 1, max: 99 }), (vals, p) => {
      const v = Float32Array.from(vals);
      const removed = removalMask(v, p);
      const thr = percentile(v, p);
      v.forEach((x, i) => expect(removed[i]).toBe(x >= thr ? 1 : 0));
      // every removed value is ≥ every kept one, and LeRF (ranking by 1 − cam) removes from the other end
      const removedVals = Array.from(v).filter((_, i) => removed[i]);
      const keptVals = Array.from(v).filter((_, i) => !removed[i]);
      if (keptVals.length) expect(Math.min(...removedVals)).toBeGreaterThan(Math.max(...keptVals));
      const lerf = removalMask(Float32Array.from(v, (x) => 1 - x), p);
      const lerfRemoved = Array.from(v).filter((_, i) => lerf[i]);
      const lerfKept = Array.from(v).filter((_, i) => !lerf[i]);
      if (lerfKept.length) expect(Math.max(...lerfRemoved)).toBeLessThan(Math.min(...lerfKept));
    }), { numRuns: 100, seed: 7 });
  });

  test('percentile is numpy\'s linear interpolation', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([4, 1, 3, 2], 10)).toBeCloseTo(1.3, 15);
    expect(percentile([0, 10], 90)).toBe(9);
    expect(percentile([5], 30)).toBe(5);
  });

  test('bad inputs', async () => {
    const run = (o: object) => F.road(model, x2(), cams(), fx.classes, o);
    await expect(run({ percentiles: [0] })).rejects.toThrow(/percentiles must be a non-empty array of numbers in \(0, 100\)/);
    await expect(run({ percentiles: [] })).rejects.toThrow(/percentiles must be a non-empty array/);
    await expect(run({ percentiles: [50, 100] })).rejects.toThrow(/in \(0, 100\)/);
    await expect(run({ mode: 'both' })).rejects.toThrow(/mode must be 'morf', 'lerf' or 'combined'/);
    await expect(run({ noise: -1 })).rejects.toThrow(/noise must be a finite number ≥ 0/);
    await expect(run({ seed: 0.5 })).rejects.toThrow(/seed must be an integer/);
    await expect(F.road(model, x2(), F.ones([1, 12, 10]), fx.classes)).rejects.toThrow(/cams must be an N×H×W Tensor matching the input/);
    expect(() => noisyLinearImpute([1, 2, 3, 4], [1, 2, 2], [1, 0, 0, 0], { noise: 0.1 })).toThrow(/normal .* is required when noise > 0/);
    expect(() => noisyLinearImpute([1, 2, 3], [1, 2, 2], [1, 0, 0, 0])).toThrow(/image has 3 values, expected C·H·W = 4/);
  });
});

describe('metric inputs shared by all metrics', () => {
  test('model and input are checked', async () => {
    await expect(F.camMultImageConfidenceChange({} as never, x2(), cams(), fx.classes)).rejects.toThrow(/model must be a Module or a function/);
    await expect(F.camMultImageConfidenceChange(model, F.ones([3, 12, 10]), cams(), fx.classes)).rejects.toThrow(/input must be an N×C×H×W Tensor, got \[3, 12, 10\]/);
    await expect(F.camMultImageConfidenceChange(model, x2(), cams(), 1 as never)).rejects.toThrow(/targets must be an array/);
  });

  test('a plain function works as the model', async () => {
    const fn = (x: F.Tensor) => model.forward(x);
    expect(await F.camMultImageConfidenceChange(fn, x2(), cams(), fx.classes)).toEqual(await F.camMultImageConfidenceChange(model, x2(), cams(), fx.classes));
  });
});
