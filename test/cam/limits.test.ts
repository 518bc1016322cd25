// Item 13 of issue 13 (the CAM part): a CAM's output size and the memory it will need are checked against
// documented, overridable limits (CAM_LIMITS) before anything is allocated — targetSize [100000, 100000]
// used to throw V8's raw RangeError and [40000, 40000] ate 23 GB before it was killed.
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TinyCNN, TinyBNCNN, det } from '../helpers/tiny-cnn';

/** TinyCNN that counts its forward passes, to prove the checks come first. */
class CountingCNN extends TinyCNN {
  calls = 0;
  override forward(x: F.Tensor): F.Tensor {
    this.calls++;
    return super.forward(x);
  }
}

const x1 = det([1, 3, 8, 8], 0.3, 0.1, 1);
const x2 = det([2, 3, 8, 8], 0.3, 0.1, 1);

describe('CAM_LIMITS', () => {
  test('the documented defaults: 8192×8192 pixels per map, 4 GiB per call', () => {
    expect(F.CAM_LIMITS).toEqual({ maxOutputPixels: 67_108_864, maxCamBytes: 4 * 1024 ** 3 });
    expect(Object.isFrozen(F.CAM_LIMITS)).toBe(true);
  });
});

describe('output size', () => {
  test('targetSize [100000, 100000] is refused by maxOutputPixels before the forward pass', async () => {
    const model = new CountingCNN();
    await expect(new F.FinerCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: x1, targetSize: [100000, 100000] })).rejects.toThrow(
      'FinerCAM.forward: targetSize [100000, 100000] gives maps of 100000×100000 = 10,000,000,000 pixels, above maxOutputPixels ' +
        '(67,108,864); pass a smaller targetSize and resize the map yourself, or raise maxOutputPixels',
    );
    await expect(new F.GradCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: x1, targetSize: [100000, 100000] })).rejects.toThrow(
      /^GradCAM: targetSize \[100000, 100000\] gives maps of 100000×100000 = 10,000,000,000 pixels/,
    );
    await expect(new F.FullGrad({ model: new TinyBNCNN() }).forward({ inputTensor: x1, targetSize: [100000, 100000] })).rejects.toThrow(
      /^FullGrad: targetSize \[100000, 100000\] gives maps of 100000×100000 = 10,000,000,000 pixels, above maxOutputPixels/,
    );
    expect(model.calls).toBe(0);
  });

  test('maxOutputPixels is per call: a 20×10 map passes at 200 and fails at 199', async () => {
    const cam = new F.GradCAM({ model: new TinyCNN(), targetLayers: ['c2'] });
    const r = await cam.forward({ inputTensor: x1, targetSize: [20, 10], maxOutputPixels: 200 });
    expect(r.cam.shape).toEqual([1, 10, 20]);
    await expect(cam.forward({ inputTensor: x1, targetSize: [20, 10], maxOutputPixels: 199 })).rejects.toThrow(
      'GradCAM: targetSize [20, 10] gives maps of 20×10 = 200 pixels, above maxOutputPixels (199)',
    );
    // without targetSize the map has the input's size
    await expect(cam.forward({ inputTensor: x1, maxOutputPixels: 63 })).rejects.toThrow(
      'GradCAM: the input size (targetSize omitted) gives maps of 8×8 = 64 pixels, above maxOutputPixels (63)',
    );
  });

  test("FinerCAM's default feature-grid size is checked once the grid is known", async () => {
    const cam = new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['c2'] });
    await expect(cam.forward({ inputTensor: x1, maxOutputPixels: 15 })).rejects.toThrow(
      'FinerCAM.forward: the feature grid (targetSize omitted) gives maps of 4×4 = 16 pixels, above maxOutputPixels (15)',
    );
    expect((await cam.forward({ inputTensor: x1, maxOutputPixels: 16 })).cam.shape).toEqual([1, 4, 4]);
  });
});

describe('memory', () => {
  test('the estimate is 4 bytes × batch × pixels × (3·layers + 3 + other maps kept), checked before the forward pass', async () => {
    const model = new CountingCNN();
    const cam = new F.FinerCAM({ model, targetLayers: ['c1', 'c2'] });
    const modes = [{ alpha: 0 }, { alpha: 1 }, { alpha: 1, referenceCategoryRanks: [1] }];
    // 2 images × 30×20 × 4 bytes × (3·2 layers + 3 + 2 earlier modes) = 52,800 bytes
    const need = 2 * 600 * 4 * 11;
    await expect(cam.forwardModes({ inputTensor: x2, modes, targetSize: [30, 20], maxCamBytes: need - 1 })).rejects.toThrow(
      'FinerCAM.forward: this CAM would need about 51.6 KiB (2 image(s) × 30×20 pixels × 4 bytes × 11 full-size maps for 2 target ' +
        'layer(s) and their upsampling), above maxCamBytes (51.6 KiB); use a smaller targetSize or batch, or raise maxCamBytes',
    );
    expect(model.calls).toBe(0);
    const r = await cam.forwardModes({ inputTensor: x2, modes, targetSize: [30, 20], maxCamBytes: need });
    expect(r.cams.map((c) => c.shape)).toEqual([[2, 20, 30], [2, 20, 30], [2, 20, 30]]);
    expect(model.calls).toBe(1);
  });

  test('[40000, 40000] with maxOutputPixels raised is refused by the memory check, which says how much it would need', async () => {
    const model = new CountingCNN();
    await expect(new F.FinerCAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: x1, targetSize: [40000, 40000], maxOutputPixels: Infinity })).rejects.toThrow(
      'FinerCAM.forward: this CAM would need about 35.8 GiB (1 image(s) × 40000×40000 pixels × 4 bytes × 6 full-size maps for 1 target ' +
        'layer(s) and their upsampling), above maxCamBytes (4 GiB)',
    );
    expect(model.calls).toBe(0);
  });

  test('augSmooth counts the six passes it keeps', async () => {
    const cam = new F.GradCAM({ model: new TinyCNN(), targetLayers: ['c2'] });
    // 1 image × 8×8 × 4 bytes × (3 + 3 + 7) = 3,328 bytes
    await expect(cam.forward({ inputTensor: x1, augSmooth: true, maxCamBytes: 3327 })).rejects.toThrow(/would need about 3\.25 KiB .* × 13 full-size maps/);
    expect((await cam.forward({ inputTensor: x1, augSmooth: true, maxCamBytes: 3328 })).cam.shape).toEqual([1, 8, 8]);
  });

  test("ScoreCAM's masked batch, KPCA-CAM's kernel matrix and FullGrad's resized channels are checked", async () => {
    const model = new TinyCNN();
    const score = new F.ScoreCAM({ model, targetLayers: ['c2'] });
    // 5 channels (fewer than batchSize 16) × (3 input channels + 2 masks) × 8×8 × 4 bytes = 6,400 bytes
    await expect(score.forward({ inputTensor: x1, maxCamBytes: 6399 })).rejects.toThrow(
      'ScoreCAM: a batch of 5 masked 8×8 images would need about 6.25 KiB, above maxCamBytes (6.25 KiB); lower batchSize or pass a smaller input, or raise maxCamBytes',
    );
    score.batchSize = 2;
    expect((await score.forward({ inputTensor: x1, maxCamBytes: 6399 })).cam.shape).toEqual([1, 8, 8]);
    // a 4×4 grid: 16 × (16 + 5 channels) float64 = 2,688 bytes
    await expect(new F.KPCACAM({ model, targetLayers: ['c2'] }).forward({ inputTensor: x1, maxCamBytes: 2687 })).rejects.toThrow(
      'KPCACAM: the 16×16 kernel matrix of a 4×4 feature grid would need about 2.63 KiB, above maxCamBytes (2.62 KiB)',
    );
    // widest bias layer: 5 channels → 1 × 64 pixels × 4 bytes × (2·5 + 4) = 3,584 bytes
    await expect(new F.FullGrad({ model: new TinyBNCNN() }).forward({ inputTensor: x1, maxCamBytes: 3583 })).rejects.toThrow(
      'FullGrad: resizing all 5 channels of its widest layer to 8×8 would need about 3.5 KiB, above maxCamBytes (3.5 KiB)',
    );
  });

  test('limit options are validated', async () => {
    const cam = new F.GradCAM({ model: new TinyCNN(), targetLayers: ['c2'] });
    await expect(cam.forward({ inputTensor: x1, maxCamBytes: 0 })).rejects.toThrow('GradCAM.forward: maxCamBytes must be a positive number (or Infinity), got 0');
    await expect(cam.forward({ inputTensor: x1, maxOutputPixels: NaN })).rejects.toThrow('GradCAM.forward: maxOutputPixels must be a positive number (or Infinity), got NaN');
    await expect(new F.FinerCAM({ model: new TinyCNN(), targetLayers: ['c2'] }).forward({ inputTensor: x1, maxCamBytes: '1e9' as unknown as number }))
      .rejects.toThrow('FinerCAM.forward: maxCamBytes must be a positive number (or Infinity), got 1e9');
  });
});
