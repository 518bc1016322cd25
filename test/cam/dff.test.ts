// Deep Feature Factorization and its NMF against pytorch-grad-cam and scikit-learn
// (test/reference/make_cam_extras_fixtures.py → test/fixtures/cam-extras/dff.json), CPU and WebGPU.
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as F from '../../index';
import { TOL, type Tol } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadFixture } from '../helpers/fixtures';
import { FIX } from '../helpers/cam-cases';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';

useGpuTeardown();
if (gpu) registerBackend(gpu);

interface NmfCase { W: number[]; H: number[]; nIter: number; k: number }
interface DffCase { layer: string; k: number; concepts: number[]; conceptsShape: number[]; explanationsEvery7th: number[]; explanationsShape: number[]; conceptOutputs?: number[]; conceptOutputsShape?: number[] }
interface Fx {
  nmf: NmfCase & { X: number[]; shape: [number, number] };
  nmf_custom: NmfCase & { W0: number[]; H0: number[] };
  numpy_normals: number[];
  dff: DffCase[];
  show: { image: number[]; imageWeight: number; explanations: number[]; shape: [number, number, number]; result: number[] };
}
const fx = loadFixture<Fx>('cam-extras/dff.json');

async function resnet18Small(device: 'cpu' | 'webgpu' | 'wasm') {
  const model = F.resnet({ block: 'basic', layers: [2, 2, 2, 2], widths: [4, 8, 16, 32], numClasses: 10 });
  model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', 'resnet18_small', 'weights.safetensors')))));
  const io = await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', 'resnet18_small', 'io.safetensors'))));
  model.eval();
  if (device !== 'cpu') await model.to(device);
  return { model, x: await io.input.toDevice(device) };
}

async function checkDff(device: 'cpu' | 'webgpu' | 'wasm', conceptTol: Tol, mapTol: Tol): Promise<void> {
  const { model, x } = await resnet18Small(device);
  for (const c of fx.dff) {
    const dff = new F.DeepFeatureFactorization({ model, targetLayer: c.layer, computationOnConcepts: c.conceptOutputs ? model.fc : null });
    const r = await dff.forward({ inputTensor: x, nComponents: c.k });
    dff.dispose();
    expect(r.concepts.shape).toEqual(c.conceptsShape);
    expectClose(await r.concepts.data(), c.concepts, conceptTol, `${c.layer} concepts (${device})`);
    expect(r.explanations.shape).toEqual(c.explanationsShape);
    const e = await r.explanations.data();
    expectClose(Array.from({ length: c.explanationsEvery7th.length }, (_, i) => e[7 * i]), c.explanationsEvery7th, mapTol, `${c.layer} explanations (${device})`);
    if (c.conceptOutputs) {
      expect(r.conceptOutputs!.shape).toEqual(c.conceptOutputsShape);
      expectClose(await r.conceptOutputs!.data(), c.conceptOutputs, conceptTol, `${c.layer} concept scores (${device})`);
    }
  }
}

describe('NMF as scikit-learn', () => {
  test('numpy RandomState(0).standard_normal', () => {
    const rs = new F.NumpyRandomState(0);
    expect(Array.from({ length: 7 }, () => rs.standardNormal())).toEqual(fx.numpy_normals);
  });
  test('init random (random_state 0): W, H and the iteration count', () => {
    const [n, m] = fx.nmf.shape;
    const r = F.nmf(Float32Array.from(fx.nmf.X), n, m, fx.nmf.k);
    expect(r.nIter).toBe(fx.nmf.nIter);
    expectClose(r.W, fx.nmf.W, TOL.nmf, 'W');
    expectClose(r.H, fx.nmf.H, TOL.nmf, 'H');
  });
  test('init custom: the same start gives sklearn\'s result', () => {
    const [n, m] = fx.nmf.shape;
    const c = fx.nmf_custom;
    const r = F.nmf(Float32Array.from(fx.nmf.X), n, m, c.k, { initW: Float32Array.from(c.W0), initH: Float32Array.from(c.H0) });
    expect(r.nIter).toBe(c.nIter);
    expectClose(r.W, c.W, TOL.nmf, 'W');
    expectClose(r.H, c.H, TOL.nmf, 'H');
  });
});

describe('DeepFeatureFactorization (CPU)', () => {
  test('concepts, explanations and concept scores match pytorch-grad-cam (layer4 + fc, layer3)', async () => {
    await checkDff('cpu', TOL.nmf, TOL.cam);
  });
  test('bad input: named errors', async () => {
    const { model, x } = await resnet18Small('cpu');
    const dff = new F.DeepFeatureFactorization({ model, targetLayer: 'layer4' });
    await expect(dff.forward({ inputTensor: x, nComponents: 33 })).rejects.toThrow(/DeepFeatureFactorization\.forward: nComponents \(33\) must not exceed the target layer's 32 channels/);
    await expect(dff.forward({ inputTensor: x, nComponents: 0 })).rejects.toThrow(/nComponents must be a positive integer, got 0/);
    dff.dispose();
    expect(() => new F.DeepFeatureFactorization({ model, targetLayer: ['layer4'] as unknown as string })).toThrow(/targetLayer is one layer/);
    expect(() => new F.DeepFeatureFactorization({ model, targetLayer: 'layer9' })).toThrow(/layer9/);
    expect(() => F.nmf(Float32Array.from([1, -1]), 1, 2, 1)).toThrow(/nmf: X must be finite and non-negative, X\[1\] is -1/);
    expect(() => new F.DeepFeatureFactorization({ model, targetLayer: 'layer4', computationOnConcepts: 3 as unknown as F.Module })).toThrow(/computationOnConcepts must be a Module or a function/);
  });
});

describe('DeepFeatureFactorization (wasm)', () => {
  test('the same cases with the model on the wasm backend', async () => {
    await checkDff('wasm', TOL.nmfWebgpu, TOL.camWasm);
  });
});

describeGpu('DeepFeatureFactorization (WebGPU)', () => {
  test('the same cases with the model on the WebGPU backend', async () => {
    await checkDff('webgpu', TOL.nmfWebgpu, TOL.camWebgpu);
  });
});

describe('showFactorizationOnImage, createLabelsLegend, runDffOnImage', () => {
  test('the overlay matches the package\'s bytes (no legend)', async () => {
    const s = fx.show;
    const [, H, W] = s.shape;
    const img = { width: W, height: H, data: Uint8Array.from(s.image) };
    const r = await F.showFactorizationOnImage(img, F.tensor(Float32Array.from(s.explanations), s.shape), { imageWeight: s.imageWeight });
    expect([r.height, r.width]).toEqual([H, W]);
    let off = 0;
    r.data.forEach((v, i) => {
      expect(Math.abs(v - s.result[i]), `byte ${i}`).toBeLessThanOrEqual(1);
      if (v !== s.result[i]) off++;
    });
    expect(off).toBe(0);
  });
  test('createLabelsLegend: top classes by score with 2 decimals', () => {
    expect(F.createLabelsLegend([0.1, 0.7, 0.2, 0.5, 0.25, 0.25], 3, ['cat, tabby, house cat, x', 'dog', 'bird'], 2)).toEqual(['dog:0.70\nbird:0.20', 'cat, tabby, house cat:0.50\nbird:0.25']);
  });
  test('runDffOnImage: image | overlay | legend, one row per concept', async () => {
    const { model, x } = await resnet18Small('cpu');
    const one = F.slice(x, 0, 0, 1);
    const [H, W] = [one.shape[2], one.shape[3]];
    const image = { width: W, height: H, data: new Uint8Array(W * H * 3).fill(128) };
    const r = await F.runDffOnImage({ model, targetLayer: 'layer4', classifier: model.fc, image, inputTensor: one, nComponents: 3, labels: Array.from({ length: 10 }, (_, i) => `class${i}`) });
    expect(r.height).toBe(H);
    expect(r.width).toBeGreaterThan(2 * W);
    expect(Array.from(r.data.subarray(0, W * 3))).toEqual(Array.from(image.data.subarray(0, W * 3)));
    await expect(F.runDffOnImage({ model, targetLayer: 'layer4', classifier: model.fc, image, inputTensor: x })).rejects.toThrow(/runDffOnImage: inputTensor must be one image/);
    await expect(F.showFactorizationOnImage(image, F.zeros([2, 3, 3]))).rejects.toThrow(/explanations must be a k×H×W Tensor matching the image/);
  });
});
