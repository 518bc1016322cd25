// Item 15 of issue 13: NaN/Inf, reference rank 0 and empty batches are named errors, never an all-NaN or
// all-zero map. A non-finite value is reported at the first pipeline stage that holds it (input, target-layer
// activations, model output, gradients, the method's own map).
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TinyCNN, TinyBNCNN, det } from '../helpers/tiny-cnn';

/** det() input with one value replaced (sample n, flat index i within the sample). */
async function withValue(shape: number[], n: number, i: number, v: number): Promise<F.Tensor> {
  const x = det(shape, 0.21, 0.4, 1);
  const d = Float32Array.from(await x.data());
  d[n * (d.length / shape[0]) + i] = v;
  return F.tensor(d, shape);
}

/** A TinyCNN whose parameter `name` has one entry set to v. */
async function brokenModel(name: string, v: number): Promise<TinyCNN> {
  const m = new TinyCNN();
  const t = m.stateDict()[name];
  const d = Float32Array.from(await t.data());
  d[0] = v;
  m.loadStateDict({ ...m.stateDict(), [name]: F.tensor(d, [...t.shape]) });
  return m;
}

async function numericError(p: Promise<unknown>): Promise<F.CamNumericError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(F.CamNumericError);
  return e as F.CamNumericError;
}

describe('non-finite input', () => {
  test('FinerCAM names the input and the sample instead of reporting main 0, references [1, 2, 3]', async () => {
    const model = new TinyCNN();
    const cam = new F.FinerCAM({ model, targetLayers: ['c2'] });
    const x = await withValue([2, 3, 8, 8], 1, 17, NaN);
    const e = await numericError(cam.forward({ inputTensor: x }));
    expect(e.stage).toBe('input');
    expect(e.sample).toBe(1);
    expect(e.name).toBe('CamNumericError');
    expect(e.message).toBe('FinerCAM.forward: NaN or ±Inf in the input (inputTensor) (first in sample 1): check how the image was decoded and normalised');
  });

  const methods: [string, (m: F.Module) => { forward(o: F.CamForwardOptions): Promise<F.CamResult> }][] = [
    ['GradCAM', (m) => new F.GradCAM({ model: m, targetLayers: ['c2'] })],
    ['GradCAMPlusPlus', (m) => new F.GradCAMPlusPlus({ model: m, targetLayers: ['c2'] })],
    ['XGradCAM', (m) => new F.XGradCAM({ model: m, targetLayers: ['c2'] })],
    ['HiResCAM', (m) => new F.HiResCAM({ model: m, targetLayers: ['c2'] })],
    ['LayerCAM', (m) => new F.LayerCAM({ model: m, targetLayers: ['c2'] })],
    ['EigenCAM', (m) => new F.EigenCAM({ model: m, targetLayers: ['c2'] })],
    // KPCA-CAM replaces NaN activations by 0 (as pytorch-grad-cam): without the check it returned finite nonsense
    ['KPCACAM', (m) => new F.KPCACAM({ model: m, targetLayers: ['c2'] })],
    ['ScoreCAM', (m) => new F.ScoreCAM({ model: m, targetLayers: ['c2'] })],
    ['AblationCAM', (m) => new F.AblationCAM({ model: m, targetLayers: ['c2'] })],
    ['FullGrad', (m) => new F.FullGrad({ model: m })],
  ];
  test.each(methods)('%s: +Inf in the input is a CamNumericError at stage input', async (name, make) => {
    const x = await withValue([1, 3, 8, 8], 0, 5, Infinity);
    const model = name === 'FullGrad' ? new TinyBNCNN() : new TinyCNN();
    const e = await numericError(make(model).forward({ inputTensor: x, targets: [new F.ClassifierOutputTarget(2)] }));
    expect(e.stage).toBe('input');
    expect(e.message).toMatch(new RegExp(`^${name}: NaN or ±Inf in the input \\(inputTensor\\) \\(first in sample 0\\)`));
  });
});

describe('non-finite values made by the model', () => {
  test('NaN weights before the target layer: the activations are named, with the layer', async () => {
    const model = await brokenModel('c1.weight', NaN);
    const e = await numericError(new F.FinerCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: det([1, 3, 8, 8], 0.3, 0.1, 1) }));
    expect(e.stage).toBe('activations');
    expect(e.message).toBe(
      "FinerCAM.forward: NaN or ±Inf in the activations of target layer 0 ('c2') (first in sample 0), while the input is finite: " +
        'the model overflowed or divided by zero before the target layer; check its weights',
    );
  });

  test('an infinite weight after the target layer: the model output is named (top-class targets)', async () => {
    const model = await brokenModel('fc.weight', Infinity);
    const x = det([2, 3, 8, 8], 0.3, 0.1, 1);
    const e = await numericError(new F.GradCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: x }));
    expect(e.stage).toBe('model output');
    expect(e.sample).toBe(0);
    expect(e.message).toBe(
      'GradCAM: NaN or ±Inf in the model output (first in sample 0), while the input and the activations are finite: ' +
        'the model overflowed or divided by zero after the target layer; check its weights',
    );
    const f = await numericError(new F.FinerCAM({ model, targetLayers: ['c2'] }).forwardModes({ inputTensor: x, modes: [{ alpha: 0 }, { alpha: 1 }] }));
    expect(f.stage).toBe('model output');
    expect(f.message).toMatch(/^FinerCAM\.forward: NaN or ±Inf in the model output/);
  });

  test('a target whose gradient is NaN: the gradients are named', async () => {
    const model = new TinyCNN();
    // sqrt(z − z) is 0, but its derivative 0.5/sqrt(0) · (1 − 1) is NaN
    const target = (out: F.Tensor) => F.sqrt(F.sub(F.select(out, 0, 1), F.select(out, 0, 1)));
    const e = await numericError(new F.GradCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: det([1, 3, 8, 8], 0.3, 0.1, 1), targets: [target] }));
    expect(e.stage).toBe('gradients');
    expect(e.message).toMatch(/^GradCAM: NaN or ±Inf in the gradients at target layer 0 \('c2'\) \(first in sample 0\), while the input, the activations and the model output are finite: /);
  });

  test("AblationCAM with a target score of exactly 0 (its weights divide by it): the method's map is named", async () => {
    const model = new TinyCNN();
    const zero = (out: F.Tensor) => F.mul(F.select(out, 0, 1), 0);
    const e = await numericError(new F.AblationCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: det([1, 3, 8, 8], 0.3, 0.1, 1), targets: [zero] }));
    expect(e.stage).toBe('map');
    expect(e.message).toBe(
      'AblationCAM: NaN or ±Inf in the AblationCAM map (first in sample 0), while the input, the activations and the model output are finite: ' +
        "the method's channel weights overflowed or divided by zero (e.g. AblationCAM with a target score of exactly 0)",
    );
  });

  test('finite inputs still give the same maps as before (the checks only read)', async () => {
    const model = new TinyCNN();
    const x = det([2, 3, 8, 8], 0.3, 0.1, 1);
    const r = await new F.FinerCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: x });
    const grad = await new F.GradCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: x, targets: r.mainCategories.map((c, n) =>
      new F.FinerWeightedTarget(c, r.references[n], 1)), targetSize: [r.cam.shape[2], r.cam.shape[1]] });
    expect(Array.from(await r.cam.data())).toEqual(Array.from(await grad.cam.data()));
    expect(r.references.every((refs, n) => refs.length === 3 && !refs.includes(r.mainCategories[n]))).toBe(true);
  });
});

describe('reference rank 0', () => {
  test('referenceCategoryRanks [0] (the main class compared with itself) is an error explaining that ranks start at 1', async () => {
    const cam = new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['c2'] });
    const x = det([1, 3, 8, 8], 0.3, 0.1, 1);
    await expect(cam.forward({ inputTensor: x, referenceCategoryRanks: [0] })).rejects.toThrow(
      'FinerCAM.forward: referenceCategoryRanks[0] is 0, but ranks start at 1: the classes are ordered by how close their logit is ' +
        'to the target logit, rank 0 is the main category itself (comparing a class with itself cancels all its evidence and gives ' +
        'an all-zero map), rank 1 is the most similar other class, rank 2 the next',
    );
    await expect(cam.forwardModes({ inputTensor: x, modes: [{ alpha: 0 }, { referenceCategoryRanks: [2, 0] }] })).rejects.toThrow(
      /referenceCategoryRanks\[1\] is 0, but ranks start at 1/,
    );
    await expect(cam.forward({ inputTensor: x, referenceCategoryRanks: [-1] })).rejects.toThrow(/referenceCategoryRanks\[0\] is -1, but ranks start at 1/);
  });
});

describe('empty batches and empty images', () => {
  const empty = F.zeros([0, 3, 8, 8]);
  const model = new TinyCNN();
  test('FinerCAM', async () => {
    await expect(new F.FinerCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: empty })).rejects.toThrow(
      'FinerCAM.forward: inputTensor is an empty batch (shape [0, 3, 8, 8]); give at least one image',
    );
  });
  test.each([
    ['GradCAM', () => new F.GradCAM({ model, targetLayers: ['c2'] })],
    ['ScoreCAM', () => new F.ScoreCAM({ model, targetLayers: ['c2'] })],
    ['FullGrad', () => new F.FullGrad({ model })],
  ] as const)('%s, through forward and computeCams', async (name, make) => {
    await expect(make().forward({ inputTensor: empty })).rejects.toThrow(`${name}.forward: inputTensor is an empty batch (shape [0, 3, 8, 8]); give at least one image`);
    await expect(make().computeCams(empty, [null], {})).rejects.toThrow(`${name}: inputTensor is an empty batch (shape [0, 3, 8, 8])`);
  });
  test('an image without pixels or channels', async () => {
    await expect(new F.GradCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: F.zeros([1, 3, 0, 8]) })).rejects.toThrow(
      'GradCAM.forward: inputTensor has an empty axis (shape [1, 3, 0, 8]); every image needs at least one channel and one pixel',
    );
  });
});
