// GuidedBackpropReLUModel, deprocessImage and Guided Grad-CAM against pytorch-grad-cam on the resnet18_small
// fixture (test/reference/make_cam_extras_fixtures.py → test/fixtures/cam-extras/guided.safetensors), on CPU
// and WebGPU; the model is exactly as before afterwards; bad input.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as F from '../../index';
import { TOL, type Tol } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { EXTRAS } from '../helpers/seg-fixtures';
import { FIX } from '../helpers/cam-cases';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';

useGpuTeardown();
if (gpu) registerBackend(gpu);

async function setup() {
  const model = F.resnet({ block: 'basic', layers: [2, 2, 2, 2], widths: [4, 8, 16, 32], numClasses: 10 });
  model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', 'resnet18_small', 'weights.safetensors')))));
  const fx = await F.loadSafetensors(new Uint8Array(readFileSync(join(EXTRAS, 'guided.safetensors'))));
  return { model: model.eval(), fx };
}

/** Bytes may differ by 1 where 255·y lands within float32 rounding of an integer (numpy sums in float32 pairwise). */
function expectBytes(got: Uint8Array, want: ArrayLike<number>, what: string): void {
  expect(got.length).toBe(want.length);
  let off = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    expect(d, `${what}[${i}]`).toBeLessThanOrEqual(1);
    if (d) off++;
  }
  expect(off, `${what}: bytes off by one`).toBeLessThanOrEqual(Math.ceil(got.length * 0.002));
}

async function checkGuided(device: 'cpu' | 'webgpu' | 'wasm', gradTol: Tol, camTol: Tol): Promise<void> {
  const { model, fx } = await setup();
  let x = fx.input;
  if (device !== 'cpu') {
    await model.to(device);
    x = await x.toDevice(device);
  }
  const gbm = new F.GuidedBackpropReLUModel(model);
  const top = await gbm.forward({ inputTensor: x });
  expect(top.shape).toEqual([32, 24, 3]);
  expectClose(await top.data(), await fx.gb_top.data(), gradTol, `gb top class (${device})`);
  const gb3 = await gbm.forward({ inputTensor: x, targetCategory: 3 });
  expectClose(await gb3.data(), await fx.gb_3.data(), gradTol, `gb class 3 (${device})`);
  const cam = new F.GradCAM({ model, targetLayers: ['layer4'] });
  const r = await cam.forward({ inputTensor: x, targets: [new F.ClassifierOutputTarget(3)] });
  cam.dispose();
  expectClose(await r.cam.data(), await fx.gradcam_3.data(), camTol, `Grad-CAM class 3 (${device})`);
  const ggc = await F.guidedGradCam(F.select(r.cam, 0, 0), gb3);
  expectBytes(ggc.data, await fx.guided_gradcam_3.data(), `guided Grad-CAM (${device})`);
}

describe('Guided Backprop (CPU)', () => {
  test('top class and class 3, Guided Grad-CAM match pytorch-grad-cam', async () => {
    await checkGuided('cpu', TOL.modelGrad, TOL.cam);
  });

  test('deprocessImage of the package\'s guided gradient gives its bytes', async () => {
    const { fx } = await setup();
    const d = await F.deprocessImage(fx.gb_3);
    expect([d.height, d.width, d.channels]).toEqual([32, 24, 3]);
    expectBytes(d.data, await fx.deprocess_gb_3.data(), 'deprocess');
  });

  test('the model is exactly as before: modules, weights, logits, ordinary gradients, modes', async () => {
    const { model, fx } = await setup();
    const before = await model.forward(fx.input_all).data();
    expectClose(before, await fx.logits_before.data(), TOL.model, 'logits before');
    const plainGrad = async () => {
      const x = fx.input.detach();
      x.requiresGrad = true;
      const [g] = F.grad(F.select(F.select(model.forward(x), 0, 0), 0, 3), [x]);
      return Float32Array.from(await g!.data());
    };
    const g0 = await plainGrad();
    const tree = model.namedModules().map(([n, m]) => [n, m] as const);
    const sd = Object.fromEntries(await Promise.all(Object.entries(model.stateDict()).map(async ([k, v]) => [k, Float32Array.from(await v.data())] as const)));
    model.layer2.train(); // a mixed train/eval state must come back as it was
    const modes = model.modules().map((m) => m.training);

    const gbm = new F.GuidedBackpropReLUModel(model);
    const gb = await gbm.forward({ inputTensor: fx.input, targetCategory: 3 });
    const plainHwc = await F.permute(F.tensor(g0, [3, 32, 24]), [1, 2, 0]).contiguous().data();
    expect(Array.from(await gb.data())).not.toEqual(Array.from(plainHwc)); // the guided rule did apply

    expect(model.modules().map((m) => m.training)).toEqual(modes);
    model.eval();
    expect(model.namedModules()).toEqual(tree);
    for (const [k, v] of Object.entries(model.stateDict())) expect(Float32Array.from(await v.data()), k).toEqual(sd[k]);
    expect(Array.from(await model.forward(fx.input_all).data())).toEqual(Array.from(before));
    expect(await plainGrad()).toEqual(g0);
  });

  test('guidedRelu: the one-line rule g·[x>0]·[g>0]', async () => {
    const x = F.tensor([-1, 2, 3, 0.5], [4]);
    x.requiresGrad = true;
    const y = F.guidedRelu(x, F.relu(x));
    const [g] = F.grad(F.sum(F.mul(y, F.tensor([5, 5, -2, 1], [4]))), [x]);
    expect(Array.from(await y.data())).toEqual([0, 2, 3, 0.5]);
    expect(Array.from(await g!.data())).toEqual([0, 5, 0, 1]);
  });

  test('bad input: named errors', async () => {
    const { model, fx } = await setup();
    const gbm = new F.GuidedBackpropReLUModel(model);
    await expect(gbm.forward({ inputTensor: fx.input, targetCategory: 10 })).rejects.toThrow(/GuidedBackpropReLUModel\.forward: targetCategory must be a class index in 0\.\.9, got 10/);
    await expect(gbm.forward({ inputTensor: F.zeros([3, 8, 8]) })).rejects.toThrow(/inputTensor must be N×C×H×W/);
    const noRelu = new F.Sequential(new F.Conv2d(3, 2, 3), new F.AdaptiveAvgPool2d(1));
    await expect(new F.GuidedBackpropReLUModel(noRelu).forward({ inputTensor: F.zeros([1, 3, 8, 8]) })).rejects.toThrow(/has no ReLU modules/);
    expect(() => new F.GuidedBackpropReLUModel({} as F.Module)).toThrow(/model must be a Module/);
    await expect(F.deprocessImage(F.zeros([4, 4]))).rejects.toThrow(/deprocessImage: img must be an H×W×C Tensor/);
    await expect(F.guidedGradCam(F.zeros([3, 4]), F.zeros([4, 4, 3]))).rejects.toThrow(/guidedGradCam: cam must be an H×W Tensor matching gb \(4×4\), got \[3, 4\]/);
  });
});

describe('Guided Backprop (wasm)', () => {
  test('top class and class 3, Guided Grad-CAM on the wasm backend', async () => {
    await checkGuided('wasm', TOL.guidedGradWebgpu, TOL.camWasm);
  });
});

describeGpu('Guided Backprop (WebGPU)', () => {
  test('top class and class 3, Guided Grad-CAM on the WebGPU backend', async () => {
    await checkGuided('webgpu', TOL.guidedGradWebgpu, TOL.camWebgpu);
  });
});
