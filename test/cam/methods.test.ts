// ScoreCAM against pytorch-grad-cam's own output (the peer vectors), and AblationCAM, FullGrad and
// KPCA-CAM against test/reference/cam_metrics.py (PyTorch autograd + scikit-learn), all on the tiny
// deterministic CNN of test/helpers/tiny-cnn.ts. RandomCAM is random, so it is checked by properties.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadFixture } from '../helpers/fixtures';
import { det, ResumableTinyCNN, TinyBNCNN, TinyCNN, x2 } from '../helpers/tiny-cnn';

const upstream = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'cam-peer', 'tv_upstream.json'), 'utf8'));

interface MethodsFixture {
  classes: number[];
  AblationCAM_r2: { cam: number[]; weights: number[] };
  AblationCAM_c2: { cam: number[]; weights: number[] };
  FullGrad: number[];
  FullGrad_bn: number[];
  KPCA_r2: { projection: number[]; cam: number[] };
  KPCA_r1_large: { input: { shape: number[]; a: number; b: number; s: number }; projection: number[]; cam: number[] };
}
const fx = loadFixture<MethodsFixture>('cam-metrics/methods.json');
const targets = () => fx.classes.map((c) => new F.ClassifierOutputTarget(c));

async function camOf(cam: F.BaseCAM, input = x2(), opts: Partial<F.CamForwardOptions> = {}): Promise<Float32Array> {
  const r = await cam.forward({ inputTensor: input, targets: targets(), ...opts });
  return (await r.cam.data()) as Float32Array;
}

describe('ScoreCAM', () => {
  test('matches pytorch-grad-cam (peer vector), whatever the batch size', async () => {
    const cam = new F.ScoreCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    for (const bs of [16, 2, 1]) {
      cam.batchSize = bs;
      expectClose(await camOf(cam), upstream.cams.ScoreCAM.flat(2), TOL.cam, `ScoreCAM batch ${bs}`);
    }
  });

  test('its masks are the channels upsampled with aligned corners, each scaled to [0, 1]', async () => {
    const model = new TinyCNN();
    const A = F.relu(model.c2.forward(F.relu(model.c1.forward(x2()))));
    const masks = (await import('../../cam/methods/score')).scoreCamMasks(A, 1, 0, 5, [12, 10]);
    expect(masks.shape).toEqual([5, 1, 12, 10]);
    const m = await masks.data();
    const a = await A.data();
    let checked = 0;
    for (let c = 0; c < 5; c++) {
      const ch = m.subarray(c * 120, (c + 1) * 120);
      expect(Math.min(...ch)).toBe(0);
      expect(Math.max(...ch)).toBeGreaterThan(1 - 1e-6);
      // Column 0, rows 0, 1, 11 of the mask sample source rows 0, 5/11, 5 (corner-aligned; half-pixel
      // centres would give 0, 1/4, 5). The ratio below is free of the min-max scaling.
      const src = a.subarray((5 + c) * 30, (6 + c) * 30); // sample 1, channel c: 6×5
      const d = src[5 * 5] - src[0];
      if (Math.abs(d) < 1e-3) continue;
      expect((ch[10] - ch[0]) / (ch[110] - ch[0])).toBeCloseTo(((5 / 11) * (src[5] - src[0])) / d, 5);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('AblationCAM', () => {
  for (const layer of ['r2', 'c2'] as const) {
    const expected = () => (layer === 'r2' ? fx.AblationCAM_r2 : fx.AblationCAM_c2);
    test(`target ${layer} (minimum ${layer === 'r2' ? '0: channels set to 0' : '≠ 0: channels set to min − 1e7'}), full forwards with a hook`, async () => {
      const cam = new F.AblationCAM({ model: new TinyCNN(), targetLayers: [layer] });
      cam.batchSize = 3;
      expectClose(await camOf(cam), expected().cam, TOL.cam, `AblationCAM ${layer}`);
    });

    test(`target ${layer}, resumed after the layer (ForwardFrom): same map, the layers before it run only twice`, async () => {
      const model = new ResumableTinyCNN();
      let c1Runs = 0;
      model.c1.registerForwardHook(() => void c1Runs++);
      const cam = new F.AblationCAM({ model, targetLayers: [layer] });
      cam.batchSize = 2;
      expectClose(await camOf(cam), expected().cam, TOL.cam, `AblationCAM ${layer} resumed`);
      expect(c1Runs).toBe(2); // the CAM's forward and the one that reads the layer output and scores
    });
  }

  test('a model whose forwardFrom returns null for the layer falls back to the hook', async () => {
    const model = new ResumableTinyCNN();
    const cam = new F.AblationCAM({ model, targetLayers: ['r1'] });
    const plain = new F.AblationCAM({ model: new TinyCNN(), targetLayers: ['r1'] });
    expectClose(await camOf(cam), await camOf(plain), TOL.exact, 'fallback');
  });

  test('ResNet resumes from a stage or a block: same map as full forwards', async () => {
    F.manualSeed(3);
    const net = F.resnet({ block: 'basic', layers: [1, 1, 2, 1], widths: [4, 4, 6, 6], numClasses: 5 });
    const x = F.randn([2, 3, 40, 36]);
    const ts = [new F.ClassifierOutputTarget(2), new F.ClassifierOutputTarget(0)];
    for (const layer of ['layer4', 'layer3.0']) {
      const resumed = await new F.AblationCAM({ model: net, targetLayers: [layer] }).forward({ inputTensor: x, targets: ts });
      // the same network seen through a wrapper without forwardFrom: hook path
      class Plain extends F.Module {
        readonly net = this.addModule('net', net);
        forward(t: F.Tensor): F.Tensor {
          return this.net.forward(t);
        }
      }
      const hooked = await new F.AblationCAM({ model: new Plain(), targetLayers: [`net.${layer}`] }).forward({ inputTensor: x, targets: ts });
      expectClose(await resumed.cam.data(), await hooked.cam.data(), TOL.cam, `resnet ${layer}`);
    }
    const a = net.layer2.forward(net.layer1.forward(net.maxpool.forward(net.relu.forward(net.bn1.forward(net.conv1.forward(x))))));
    expectClose(await net.forwardFrom('layer2', a)!.data(), await net.forward(x).data(), TOL.exact, 'forwardFrom(layer2)');
    expect(net.forwardFrom('layer3.5', a)).toBeNull();
    expect(net.forwardFrom('fc', a)).toBeNull();
  });

  test('ablating channel k sets it to 0 after a ReLU, else to the sample minimum − 1e7', async () => {
    const { ablateRows } = await import('../../cam/methods/ablation');
    const a = F.tensor([0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 2, 2]);
    const out = await ablateRows(F.expand(a, [2, 2, 2, 2]), [1, 0], 'test').data();
    expect(Array.from(out)).toEqual([0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5, 6, 7]);
    const b = F.tensor([-2, 1, 2, 3], [1, 1, 2, 2]);
    expect(Array.from(await ablateRows(b, [0], 'test').data())).toEqual(Array(4).fill(Math.fround(-2 - 1e7)));
    const tokens = F.tensor([1, -1, 2, 3, 4, 5], [1, 3, 2]); // N×T×C: channel = last axis, every token
    expect(Array.from(await ablateRows(tokens, [1], 'test').data())).toEqual([1, Math.fround(-1 - 1e7), 2, Math.fround(-1 - 1e7), 4, Math.fround(-1 - 1e7)]);
  });

  test('bad batch size and layer outputs that are not N×C×h×w or N×T×C are errors', async () => {
    const cam = new F.AblationCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    cam.batchSize = 0;
    await expect(camOf(cam)).rejects.toThrow(/batchSize must be a positive integer/);
    const { ablateRows } = await import('../../cam/methods/ablation');
    expect(() => ablateRows(F.zeros([2, 3]), [0, 1], 'AblationCAM')).toThrow(/N×C×h×w or N×tokens×C/);
  });
});

describe('FullGrad', () => {
  test('matches the reference (conv biases)', async () => {
    const cam = new F.FullGrad({ model: new TinyCNN() });
    expect(cam.biasLayers.map((l) => l.constructor.name)).toEqual(['Conv2d', 'Conv2d']);
    expectClose(await camOf(cam), fx.FullGrad, TOL.cam, 'FullGrad');
  });

  test('matches the reference with a BatchNorm (effective bias b − μγ/√(σ²+ε)); targetLayers is ignored', async () => {
    const model = new TinyBNCNN();
    const cam = new F.FullGrad({ model, targetLayers: ['r2'] });
    expect(cam.biasLayers).toEqual([model.c1, model.bn1, model.c2]);
    expectClose(await camOf(cam), fx.FullGrad_bn, TOL.cam, 'FullGrad bn');
  });

  test('errors: no bias layers, eigenSmooth', async () => {
    class NoBias extends F.Module {
      readonly fc = this.addModule('fc', new F.Linear(3, 2));
      forward(x: F.Tensor): F.Tensor {
        return this.fc.forward(F.mean(x, [2, 3]));
      }
    }
    expect(() => new F.FullGrad({ model: new NoBias() })).toThrow(/no Conv2d or BatchNorm2d with a bias/);
    const cam = new F.FullGrad({ model: new TinyCNN() });
    await expect(camOf(cam, x2(), { eigenSmooth: true })).rejects.toThrow(/eigenSmooth is not supported/);
  });
});

describe('KPCACAM', () => {
  test('projection equals scikit-learn KernelPCA(sigmoid).fit_transform, sign included; map matches', async () => {
    const model = new TinyCNN();
    const A = F.relu(model.c2.forward(F.relu(model.c1.forward(x2()))));
    const a = await A.data();
    const proj = [0, 1].flatMap((n) => Array.from(F.kernelPcaProjection(a.subarray(n * 150, (n + 1) * 150), 5, 30)));
    expectClose(proj, fx.KPCA_r2.projection, TOL.kpcaProjection, 'KPCA projection');
    const cam = new F.KPCACAM({ model, targetLayers: ['r2'] });
    expectClose(await camOf(cam), fx.KPCA_r2.cam, TOL.cam, 'KPCA cam');
  });

  test('a 32×30 grid (960 positions: subspace iteration here, ARPACK in scikit-learn)', async () => {
    const { shape, a, b, s } = fx.KPCA_r1_large.input;
    const x = det(shape, a, b, s);
    const model = new TinyCNN();
    const A = F.relu(model.c1.forward(x));
    const proj = F.kernelPcaProjection(await A.data(), 4, 960);
    expectClose(proj, fx.KPCA_r1_large.projection, TOL.kpcaProjection, 'KPCA projection (large)');
    const cam = new F.KPCACAM({ model, targetLayers: ['r1'] });
    const r = await cam.forward({ inputTensor: x, targets: [new F.ClassifierOutputTarget(0)] });
    expectClose(await r.cam.data(), fx.KPCA_r1_large.cam, TOL.cam, 'KPCA cam (large)');
  });

  test('gamma and coef0 are used, and validated', async () => {
    const x = Array.from({ length: 12 }, (_, i) => Math.sin(i));
    const base = F.kernelPcaProjection(x, 3, 4);
    expect(Array.from(F.kernelPcaProjection(x, 3, 4, { gamma: 1 / 3, coef0: 1 }))).toEqual(Array.from(base));
    expect(Array.from(F.kernelPcaProjection(x, 3, 4, { gamma: 2 }))).not.toEqual(Array.from(base));
    expect(() => new F.KPCACAM({ model: new TinyCNN(), targetLayers: ['r2'], gamma: -1 })).toThrow(/gamma must be a positive number/);
    expect(() => new F.KPCACAM({ model: new TinyCNN(), targetLayers: ['r2'], coef0: NaN })).toThrow(/coef0 must be a finite number/);
  });
});

describe('RandomCAM (properties)', () => {
  const run = async (seed: number) => {
    F.manualSeed(seed);
    const cam = new F.RandomCAM({ model: new TinyCNN(), targetLayers: ['r2'] });
    return cam.forward({ inputTensor: x2(), targets: targets() });
  };

  test('maps in [0, 1] at the input size; the same seed gives the same map, another seed another map', async () => {
    const a = await (await run(7)).cam.data();
    const b = await (await run(7)).cam.data();
    const c = await (await run(8)).cam.data();
    expect(a.length).toBe(2 * 12 * 10);
    expect(Array.from(a).every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  test('the raw map is Σ w_c A_c with weights in [-1, 1] (recovered by least squares)', async () => {
    const model = new TinyCNN();
    const A = await F.relu(model.c2.forward(F.relu(model.c1.forward(x2())))).data();
    F.manualSeed(11);
    const raw = await (await new F.RandomCAM({ model, targetLayers: ['r2'] }).forward({ inputTensor: x2(), targets: targets(), raw: true })).cam.data();
    for (let n = 0; n < 2; n++) {
      // normal equations (AᵀA) w = Aᵀ raw, 5 channels × 30 positions
      const G = Array.from({ length: 5 }, () => new Float64Array(6));
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 5; j++) for (let p = 0; p < 30; p++) G[i][j] += A[(n * 5 + i) * 30 + p] * A[(n * 5 + j) * 30 + p];
        for (let p = 0; p < 30; p++) G[i][5] += A[(n * 5 + i) * 30 + p] * raw[n * 30 + p];
      }
      for (let i = 0; i < 5; i++) {
        for (let r = i + 1; r < 5; r++) {
          const f = G[r][i] / G[i][i];
          for (let k = i; k < 6; k++) G[r][k] -= f * G[i][k];
        }
      }
      const w = new Float64Array(5);
      for (let i = 4; i >= 0; i--) {
        let s = G[i][5];
        for (let k = i + 1; k < 5; k++) s -= G[i][k] * w[k];
        w[i] = s / G[i][i];
      }
      for (const v of w) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-4);
      // and the fit is exact: raw really is a weighted sum of the channels
      for (let p = 0; p < 30; p++) {
        let s = 0;
        for (let c = 0; c < 5; c++) s += w[c] * A[(n * 5 + c) * 30 + p];
        expect(Math.abs(s - raw[n * 30 + p])).toBeLessThan(1e-4);
      }
    }
  });
});

describe('gradient-free methods on a ViT (tokens N×T×C, reshape transform)', () => {
  test('ScoreCAM, AblationCAM (channel = embedding dim, every token, as AblationLayerVit) and KPCACAM give input-size maps in [0, 1]', async () => {
    F.manualSeed(21);
    const vit = F.visionTransformer({ imgSize: 16, patchSize: 4, embedDim: 8, depth: 2, numHeads: 2, numClasses: 3 });
    const x = F.randn([2, 3, 16, 12]);
    const ts = [new F.ClassifierOutputTarget(0), new F.ClassifierOutputTarget(2)];
    for (const Cls of [F.ScoreCAM, F.AblationCAM, F.KPCACAM]) {
      const cam = new Cls({ model: vit, targetLayers: ['blocks.1.norm1'], reshapeTransform: F.vitReshapeTransform() });
      const r = await cam.forward({ inputTensor: x, targets: ts, H: 4, W: 3 });
      expect(r.cam.shape).toEqual([2, 16, 12]);
      const v = Array.from(await r.cam.data());
      expect(v.every((t) => t >= 0 && t <= 1)).toBe(true);
      expect(Math.max(...v)).toBeGreaterThan(0.99); // min-max scaled, not blank
      cam.dispose();
    }
  });
});

describe('as FinerCAM base methods', () => {
  test('with α = 0 the Finer objective is z_main (up to a factor 1 − 1e-9), so Finer-ScoreCAM / -AblationCAM / -FullGrad equal the plain methods on the top class', async () => {
    const model = new TinyCNN();
    const top = await F.argmax(model.forward(x2()), 1).data();
    for (const Base of [F.ScoreCAM, F.AblationCAM, F.FullGrad]) {
      const finer = await new F.FinerCAM({ model, targetLayers: ['r2'], baseMethod: Base }).forward({ inputTensor: x2(), alpha: 0, targetSize: [10, 12] });
      expect(finer.mainCategories).toEqual(Array.from(top));
      const plain = await new Base({ model, targetLayers: ['r2'] }).forward({ inputTensor: x2(), targets: Array.from(top, (c) => new F.ClassifierOutputTarget(c)) });
      expectClose(await finer.cam.data(), await plain.cam.data(), TOL.cam, Base.name);
    }
  });
});
