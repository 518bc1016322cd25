// The tiny deterministic CNN of ../shared/data/peer-vectors, rebuilt exactly, against the outputs of
// jacobgil/pytorch-grad-cam (tv_upstream.json) and the official Finer-CAM code (tv_official.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { TinyCNN, x2 } from '../helpers/tiny-cnn';

const DIR = join(__dirname, '..', 'fixtures', 'cam-peer');
const upstream = JSON.parse(readFileSync(join(DIR, 'tv_upstream.json'), 'utf8'));
const official = JSON.parse(readFileSync(join(DIR, 'tv_official.json'), 'utf8'));

const plainTargets = () => [new F.ClassifierOutputTarget(1), new F.ClassifierOutputTarget(4)];

const methods: [string, F.CAMClass][] = [
  ['GradCAM', F.GradCAM], ['GradCAMPlusPlus', F.GradCAMPlusPlus], ['XGradCAM', F.XGradCAM], ['HiResCAM', F.HiResCAM],
  ['GradCAMElementWise', F.GradCAMElementWise], ['LayerCAM', F.LayerCAM],
];

describe('pytorch-grad-cam (upstream) on the tiny CNN', () => {
  test('logits', async () => {
    const m = new TinyCNN();
    expectClose(await m.forward(x2()).data(), upstream.logits.flat(), TOL.model, 'logits');
  });

  for (const [name, Cls] of methods) {
    test(name, async () => {
      const model = new TinyCNN();
      const cam = new Cls({ model, targetLayers: ['r2'] });
      const r = await cam.forward({ inputTensor: x2(), targets: plainTargets() });
      expect(r.cam.shape).toEqual(upstream.shapes[name]);
      expectClose(await r.cam.data(), upstream.cams[name].flat(2), TOL.cam, name);
    });
  }

  // The principal component's sign is arbitrary (LAPACK's choice upstream, a documented rule here), and
  // after ReLU the two signs give different maps: each sample must match one of the two.
  async function expectUpToSign(Cls: F.CAMClass, opts: { eigenSmooth?: boolean }, expected: number[], what: string) {
    const cam = new Cls({ model: new TinyCNN(), targetLayers: ['r2'] });
    const raw = (await cam.forward({ inputTensor: x2(), targets: plainTargets(), raw: true, ...opts })).cam;
    const finish = (t: F.Tensor) => F.scaleCam(F.scaleCam(F.relu(t), [12, 10]), null).data();
    const pos = await finish(raw);
    const neg = await finish(F.neg(raw));
    const per = 120;
    const chosen = new Float32Array(pos.length);
    for (let n = 0; n < 2; n++) {
      const err = (a: ArrayLike<number>) => Math.max(...Array.from({ length: per }, (_, i) => Math.abs(a[n * per + i] - expected[n * per + i])));
      const pick = err(pos) <= err(neg) ? pos : neg;
      chosen.set(Array.from({ length: per }, (_, i) => pick[n * per + i]), n * per);
    }
    expectClose(chosen, expected, TOL.cam, what);
  }

  test('GradCAM with eigenSmooth, up to the principal component\'s sign', () =>
    expectUpToSign(F.GradCAM, { eigenSmooth: true }, upstream.cams.GradCAM_eigen_smooth.flat(2), 'eigen smooth'));

  test('GradCAM over two layers (mean of per-layer maps)', async () => {
    const model = new TinyCNN();
    const cam = new F.GradCAM({ model, targetLayers: [model.r1, model.r2] });
    const r = await cam.forward({ inputTensor: x2(), targets: plainTargets() });
    expectClose(await r.cam.data(), upstream.cams.GradCAM_two_layers_r1_r2.flat(2), TOL.cam, 'two layers');
  });

  test('EigenCAM, up to sign', () => expectUpToSign(F.EigenCAM, {}, upstream.cams.EigenCAM.flat(2), 'EigenCAM'));
  test('EigenGradCAM, up to sign', () => expectUpToSign(F.EigenGradCAM, {}, upstream.cams.EigenGradCAM.flat(2), 'EigenGradCAM'));

  test('FinerCAM, automatic targets (top-1 vs ranks 1-3, α = 1), at the input size', async () => {
    const fc = new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    const r = await fc.forward({ inputTensor: x2(), targetSize: [10, 12] });
    expectClose(await r.cam.data(), upstream.cams.FinerCAM_auto_top1_refs123_alpha1.flat(2), TOL.cam, 'finer auto');
  });

  test('FinerCAM with explicit FinerWeightedTarget(1, [0, 2], 0.6)', async () => {
    const fc = new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    const t = () => new F.FinerWeightedTarget(1, [0, 2], 0.6);
    const r = await fc.forward({ inputTensor: x2(), targets: [t(), t()], targetSize: [10, 12] });
    expect(r.mainCategories).toEqual([]);
    expectClose(await r.cam.data(), upstream.cams['FinerCAM_explicit_main1_refs_0_2_alpha0.6'].flat(2), TOL.cam, 'finer explicit');
  });
});

describe('official Finer-CAM code on the tiny CNN (batch 1, grid-size output)', () => {
  const x1 = () => F.slice(x2(), 0, 0, 1);

  test('automatic targets: main and references as the official code', async () => {
    const fc = new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    const r = await fc.forward({ inputTensor: x1() });
    expect(r.mainCategories).toEqual(official.official_main);
    expect(r.references).toEqual(official.official_refs);
    expect(r.cam.shape).toEqual([1, 6, 5]);
    expectClose(await r.cam.data(), official.cams.FinerCAM_auto_top1_refs123_alpha1.flat(2), TOL.cam, 'official auto');
  });

  test('targetIdx 2 with an out-of-range rank (dropped), α = 1 and α = 0', async () => {
    const fc = new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    const r = await fc.forward({ inputTensor: x1(), targetIdx: 2, referenceCategoryRanks: [1, 2, 3, 99] });
    expect(r.mainCategories).toEqual(official.official_main_t2);
    expect(r.references).toEqual(official.official_refs_t2);
    expectClose(await r.cam.data(), official.cams.FinerCAM_target2_refs123_99_alpha1.flat(2), TOL.cam, 'official t2');
    const r0 = await fc.forward({ inputTensor: x1(), targetIdx: 2, alpha: 0 });
    expectClose(await r0.cam.data(), official.cams.FinerCAM_target2_alpha0.flat(2), TOL.cam, 'official t2 alpha 0');
  });
});
