// CAM methods on torchvision segmentation models with SemanticSegmentationTarget, against pytorch-grad-cam
// itself (test/reference/make_cam_extras_fixtures.py: masks that are not the argmax region), on the CPU and
// WebGPU backends; the other targets of the package; bad targets.
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL, type Tol } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadSegModel, segMeta } from '../helpers/seg-fixtures';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';

useGpuTeardown();
if (gpu) registerBackend(gpu);

type CamCtor = new (o: F.CAMOptions) => F.BaseCAM;
const METHODS: Record<string, CamCtor> = { GradCAM: F.GradCAM, HiResCAM: F.HiResCAM, GradCAMPlusPlus: F.GradCAMPlusPlus };

async function runSegCases(device: 'cpu' | 'webgpu' | 'wasm', tol: Tol): Promise<void> {
  for (const { model: name, cases } of segMeta.cases) {
    const { model, data } = await loadSegModel(name);
    let x = data.input;
    if (device !== 'cpu') {
      await model.to(device);
      x = await x.toDevice(device);
    }
    for (const c of cases) {
      const N = x.shape[0];
      // sample 0 uses a Tensor mask, the others a Float32Array: both forms of the argument
      const targets = await Promise.all(Array.from({ length: N }, async (_, n) => {
        const m = data[`mask_${c.name}_${n}`];
        return new F.SemanticSegmentationTarget(c.categories[n], n === 0 ? await m.toDevice(device) : Float32Array.from(await m.data()));
      }));
      const cam = new METHODS[c.method]({ model, targetLayers: c.targetLayers });
      const r = await cam.forward({ inputTensor: x, targets });
      expect(r.cam.shape).toEqual(data[`cam_${c.name}`].shape);
      expectClose(await r.cam.data(), await data[`cam_${c.name}`].data(), tol, `${name} ${c.name} (${device})`);
      cam.dispose();
    }
  }
}

describe('CAMs with SemanticSegmentationTarget (CPU)', () => {
  test('GradCAM / HiResCAM on layer4, GradCAM++ on layer3 + head, both models, match pytorch-grad-cam', async () => {
    await runSegCases('cpu', TOL.cam);
  });
});

describe('CAMs with SemanticSegmentationTarget (wasm)', () => {
  test('the same cases on the wasm backend', async () => {
    await runSegCases('wasm', TOL.camWasm);
  });
});

describeGpu('CAMs with SemanticSegmentationTarget (WebGPU)', () => {
  test('the same cases on the WebGPU backend', async () => {
    await runSegCases('webgpu', TOL.camWebgpu);
  });
});

describe('SoftmaxOutputTarget, RawScoresOutputTarget, SemanticSegmentationTarget', () => {
  test('values', async () => {
    const z = F.tensor([1, 2, 3], [3]);
    expectClose(await new F.SoftmaxOutputTarget().call(z).data(), [0.09003057, 0.24472847, 0.66524096], { atol: 1e-7, rtol: 0 });
    expect(Array.from(await new F.RawScoresOutputTarget().call(z).data())).toEqual([1, 2, 3]);
    const out = F.tensor(Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i), [2, 2, 3]);
    // class 1 is 6..11; mask picks 6·1 + 8·0.5 + 11·1
    expect((await new F.SemanticSegmentationTarget(1, [1, 0, 0.5, 0, 0, 1]).call(out).data())[0]).toBe(21);
  });
  test('a vector target is refused as a CAM objective, with its shape named', async () => {
    const { model, data } = await loadSegModel('fcn_tiny');
    const cam = new F.GradCAM({ model: model, targetLayers: ['backbone.layer4'] });
    await expect(cam.forward({ inputTensor: data.input, targets: [new F.RawScoresOutputTarget()] })).rejects.toThrow(/a target must return a one-element Tensor, got \[4, 21, 27\]/);
    cam.dispose();
  });
  test('bad masks and categories: named errors', async () => {
    const out = F.zeros([3, 4, 5]);
    expect(() => new F.SemanticSegmentationTarget(-1, new Float32Array(20))).toThrow(/SemanticSegmentationTarget: category must be a non-negative integer, got -1/);
    expect(() => new F.SemanticSegmentationTarget(3, new Float32Array(20)).call(out)).toThrow(/SemanticSegmentationTarget: category must be a class index in 0\.\.2, got 3/);
    expect(() => new F.SemanticSegmentationTarget(0, new Float32Array(21)).call(out)).toThrow(/mask has 21 values but the output's maps are 4×5 = 20 pixels/);
    expect(() => new F.SemanticSegmentationTarget(0, F.zeros([5, 4])).call(out)).toThrow(/mask is 5×4 but the output's maps are 4×5/);
    expect(() => new F.SemanticSegmentationTarget(0, F.zeros([20]))).toThrow(/mask must be an H×W tensor, got shape \[20\]/);
    expect(() => new F.SemanticSegmentationTarget(0, [1, NaN])).toThrow(/mask\[1\] is NaN/);
    expect(() => new F.SemanticSegmentationTarget(0, 'x' as unknown as number[])).toThrow(/mask must be an H×W Tensor, or a Float32Array/);
    expect(() => new F.SemanticSegmentationTarget(0, new Float32Array(20)).call(F.zeros([3, 20]))).toThrow(/expects one sample's segmentation output \(classes × H × W\), got shape \[3, 20\]/);
  });
});

describe('FinerCAM on a segmentation model (masks: the region mean logits stand in for the logits)', () => {
  const finerCheck = async (device: 'cpu' | 'webgpu', tol: Tol) => {
    const { model, data } = await loadSegModel('deeplabv3_tiny');
    let x = data.input;
    if (device === 'webgpu') {
      await model.to('webgpu');
      x = await x.toDevice('webgpu');
    }
    const masks = await Promise.all([0, 1].map(async (n) => Float32Array.from(await data[`mask_GradCAM_backbone-layer4_${n}`].data())));
    const finer = new F.FinerCAM({ model, targetLayers: ['backbone.layer4'] });
    for (const c of segMeta.finer) {
      const r = await finer.forward({ inputTensor: x, masks, targetIdx: c.targetIdx, alpha: c.alpha, referenceCategoryRanks: c.ranks });
      expect(r.mainCategories, c.name).toEqual(c.mains);
      expect(r.references, c.name).toEqual(c.references);
      expect(r.cam.shape).toEqual(data[`finer_${c.name}`].shape);
      expectClose(await r.cam.data(), await data[`finer_${c.name}`].data(), tol, `Finer ${c.name} (${device})`);
    }
    finer.dispose();
    return { model, data, x, masks };
  };
  test('references and maps match the package\'s FinerWeightedTarget on the region mean logits (CPU)', async () => {
    const { model, data, x, masks } = await finerCheck('cpu', TOL.cam);
    const s = await F.maskedClassScores(model.forward(x), masks, 'test');
    expectClose(s, await data.finer_scores.data(), TOL.model, 'masked scores');
    // α = 0 is Grad-CAM of the region (SemanticSegmentationTarget) at the feature grid, up to the gradient
    // of the factor S/(S + 1e-9) (S = Σ_r p_r is 7e-6 and 4e-4 here: a confident model), which moves the
    // normalised map by < 1e-3 (observed 7.5e-4)
    const g = new F.GradCAM({ model, targetLayers: ['backbone.layer4'] });
    const plain = await g.forward({ inputTensor: x, targets: masks.map((m) => new F.SemanticSegmentationTarget(2, m)), targetSize: [4, 3] });
    const base = await new F.FinerCAM({ model, targetLayers: ['backbone.layer4'] }).forward({ inputTensor: x, masks, targetIdx: 2, alpha: 0, targetSize: [4, 3] });
    expectClose(await base.cam.data(), await plain.cam.data(), { atol: 2e-3, rtol: 0 }, 'α = 0 vs Grad-CAM');
    g.dispose();
    // explicit FinerSegmentationTarget targets give the automatic selection's map
    const c = segMeta.finer.find((f) => f.name === 'compare_t2')!;
    const explicit = await new F.FinerCAM({ model, targetLayers: ['backbone.layer4'] }).forward({
      inputTensor: x, targets: masks.map((m, n) => new F.FinerSegmentationTarget(c.mains[n], c.references[n], m, c.alpha)),
    });
    expectClose(await explicit.cam.data(), await data.finer_compare_t2.data(), TOL.cam, 'explicit FinerSegmentationTarget');
  });
  test('masks: named errors', async () => {
    const { model, data } = await loadSegModel('deeplabv3_tiny');
    const finer = new F.FinerCAM({ model, targetLayers: ['backbone.layer4'] });
    await expect(finer.forward({ inputTensor: data.input })).rejects.toThrow(/automatic targets need N×K logits, got \[2, 5, 24, 28\]; for a segmentation model pass masks/);
    await expect(finer.forward({ inputTensor: data.input, masks: [new Float32Array(24 * 28)] })).rejects.toThrow(/masks must give one mask per sample \(2\), got 1/);
    await expect(finer.forward({ inputTensor: data.input, masks: [new Float32Array(5), new Float32Array(5)] })).rejects.toThrow(/mask has 5 values but the output's maps are 24×28/);
    await expect(finer.forward({ inputTensor: data.input, masks: [new Float32Array(672), new Float32Array(672)] })).rejects.toThrow(/the mask is empty \(its values sum to 0\)/);
    finer.dispose();
  });
});

describeGpu('FinerCAM on a segmentation model (WebGPU)', (backend) => {
  test('the same cases on the WebGPU backend; a call frees the device copies of the masks', async () => {
    const { model, data } = await loadSegModel('deeplabv3_tiny');
    await model.to('webgpu');
    const x = await data.input.toDevice('webgpu');
    const masks = await Promise.all([0, 1].map(async (n) => Float32Array.from(await data[`mask_GradCAM_backbone-layer4_${n}`].data())));
    const finer = new F.FinerCAM({ model, targetLayers: ['backbone.layer4'] });
    for (const c of segMeta.finer) {
      const r = await finer.forward({ inputTensor: x, masks, targetIdx: c.targetIdx, alpha: c.alpha, referenceCategoryRanks: c.ranks });
      expect(r.references, c.name).toEqual(c.references);
      expectClose(await r.cam.data(), await data[`finer_${c.name}`].data(), TOL.camWebgpu, `Finer ${c.name} (webgpu)`);
      r.cam.dispose();
      r.outputs.dispose();
    }
    await backend.sync();
    const start = backend.stats().bytesInUse;
    const again = await finer.forward({ inputTensor: x, masks });
    again.cam.dispose();
    again.outputs.dispose();
    await backend.sync();
    expect(backend.stats().bytesInUse).toBe(start);
    finer.dispose();
  });
});
