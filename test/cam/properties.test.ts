// Properties of the CAM layer that hold for any model and input (fast-check over inputs, targets and
// options), and the errors users get for bad arguments.
import { expect, test, describe } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import { TinyCNN } from '../helpers/tiny-cnn';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

const METHODS: [string, F.CAMClass][] = [
  ['GradCAM', F.GradCAM], ['GradCAMPlusPlus', F.GradCAMPlusPlus], ['XGradCAM', F.XGradCAM], ['HiResCAM', F.HiResCAM],
  ['GradCAMElementWise', F.GradCAMElementWise], ['LayerCAM', F.LayerCAM], ['EigenCAM', F.EigenCAM], ['EigenGradCAM', F.EigenGradCAM],
  ['ScoreCAM', F.ScoreCAM], ['AblationCAM', F.AblationCAM], ['KPCACAM', F.KPCACAM], ['RandomCAM', F.RandomCAM],
];

/** N images of 3×H×W from a seed. */
const inputs = fc.record({ n: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 6, max: 14 }), w: fc.integer({ min: 6, max: 14 }), seed: fc.integer({ min: 0, max: 1e6 }) })
  .map(({ n, h, w, seed }) => {
    const rng = F.makeRng(seed);
    return F.tensor(Float32Array.from({ length: n * 3 * h * w }, () => rng.normal()), [n, 3, h, w]);
  });

describe('every method', () => {
  for (const [name, Cls] of METHODS) {
    test(`${name}: maps lie in [0, 1] and have the requested shape`, async () => {
      await fc.assert(fc.asyncProperty(inputs, fc.option(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 })), { nil: null }), async (x, size) => {
        F.manualSeed(1);
        const cam = new Cls({ model: new TinyCNN(), targetLayers: ['r2'] });
        const r = await cam.forward({ inputTensor: x, targetSize: size });
        const [N, , H, W] = x.shape;
        expect(r.cam.shape).toEqual(size ? [N, size[1], size[0]] : [N, H, W]);
        for (const v of await r.cam.data()) expect(v >= 0 && v <= 1).toBe(true);
      }), { numRuns: 5 });
    });
  }
});

test('permuting the batch permutes the maps (GradCAM, FinerCAM)', async () => {
  await fc.assert(fc.asyncProperty(inputs.filter((x) => x.shape[0] >= 2), async (x) => {
    const N = x.shape[0];
    const perm = Array.from({ length: N }, (_, i) => (i + 1) % N);
    const xp = F.indexSelect(x, 0, F.tensor(Int32Array.from(perm), [N], { dtype: 'int32' }));
    for (const make of [() => new F.GradCAM({ model: new TinyCNN(), targetLayers: ['r2'] }), () => new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] })]) {
      const a = await make().forward({ inputTensor: x, targetSize: [x.shape[3], x.shape[2]] });
      const b = await make().forward({ inputTensor: xp, targetSize: [x.shape[3], x.shape[2]] });
      const expected = F.indexSelect(a.cam, 0, F.tensor(Int32Array.from(perm), [N], { dtype: 'int32' }));
      expectClose(await b.cam.data(), await expected.data(), TOL.cam, 'permuted batch');
    }
  }), { numRuns: 5 });
});

test('FinerCAM with α = 0 equals GradCAM on the main category at the same targetSize', async () => {
  await fc.assert(fc.asyncProperty(inputs, fc.constantFrom<number[]>([1, 2, 3], [1], [2, 4]), async (x, ranks) => {
    const size: [number, number] = [x.shape[3], x.shape[2]];
    const finer = await new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] }).forward({ inputTensor: x, alpha: 0, referenceCategoryRanks: ranks, targetSize: size });
    const plain = await new F.GradCAM({ model: new TinyCNN(), targetLayers: ['r2'] }).forward({
      inputTensor: x, targetSize: size, targets: finer.mainCategories.map((c) => new F.ClassifierOutputTarget(c)),
    });
    // α = 0 leaves zₙ·S/(S + 1e-9) plus a softmax-gradient term of order 1e-9: equal after normalisation
    expectClose(await finer.cam.data(), await plain.cam.data(), TOL.cam, 'alpha 0');
  }), { numRuns: 8 });
});

test('listing target layers in another order gives the same map', async () => {
  await fc.assert(fc.asyncProperty(inputs, async (x) => {
    const size: [number, number] = [x.shape[3], x.shape[2]];
    const m = new TinyCNN();
    const a = await new F.GradCAM({ model: m, targetLayers: ['r1', 'r2'] }).forward({ inputTensor: x, targetSize: size });
    const m2 = new TinyCNN();
    const b = await new F.GradCAM({ model: m2, targetLayers: ['r2', 'r1'] }).forward({ inputTensor: x, targetSize: size });
    expectClose(await b.cam.data(), await a.cam.data(), TOL.cam, 'layer order');
  }), { numRuns: 5 });
});

describe('bad input', () => {
  const x = () => F.randn([2, 3, 8, 8]);
  test('a target layer name that does not exist', () => {
    expect(() => new F.GradCAM({ model: new TinyCNN(), targetLayers: ['r9'] })).toThrow(/targetLayers\[0\].*no child 'r9'/);
  });
  test('targets of the wrong count', async () => {
    const cam = new F.GradCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    await expect(cam.forward({ inputTensor: x(), targets: [new F.ClassifierOutputTarget(1)] })).rejects.toThrow(/got 1 targets for a batch of 2/);
  });
  test('a class index out of range', async () => {
    const cam = new F.GradCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    await expect(cam.forward({ inputTensor: x(), targets: [new F.ClassifierOutputTarget(6), new F.ClassifierOutputTarget(0)] })).rejects.toThrow(/category must be a class index in 0\.\.5, got 6/);
    await expect(new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] }).forward({ inputTensor: x(), targetIdx: 9 })).rejects.toThrow(/targetIdx 9 is out of range for 6 classes/);
  });
  test('a grid that does not match the token count', () => {
    const t = F.zeros([1, 1 + 35, 8]);
    expect(() => F.vitReshapeTransform()(t, { H: 6, W: 5 })).toThrow(/6×5 grid does not match 35 patch tokens/);
  });
  test('alpha not finite, and a negative rank', async () => {
    const cam = new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    await expect(cam.forward({ inputTensor: x(), alpha: NaN })).rejects.toThrow(/alpha must be a finite number/);
    await expect(cam.forward({ inputTensor: x(), referenceCategoryRanks: [1, -1] })).rejects.toThrow(/referenceCategoryRanks\[1\] is -1/);
    expect(() => new F.FinerWeightedTarget(1, [2], Infinity)).toThrow(/alpha must be a finite number/);
  });
  test('a bad targetSize', async () => {
    const cam = new F.GradCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    await expect(cam.forward({ inputTensor: x(), targetSize: [0, 4] as [number, number] })).rejects.toThrow(/targetSize must be \[width, height\]/);
  });
});
