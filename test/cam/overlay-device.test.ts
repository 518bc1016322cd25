// The device overlay equals the host overlay byte for byte on the CPU backend (and on WebGPU within one
// level: WGSL's float32 division may round differently from a correctly rounded one by an ulp).
import { expect, test } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';

useGpuTeardown();
if (gpu) registerBackend(gpu);

const imageAndCam = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 1e6 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([w, h, seed, weight]) => {
    const rng = F.makeRng(seed);
    const data = Uint8Array.from({ length: w * h * 3 }, () => rng.int(256));
    const cam = Float32Array.from({ length: w * h }, () => rng.uniform());
    if (cam.length > 1) cam[0] = 1; // hit the top colour
    return { img: { width: w, height: h, data }, cam, weight };
  });

test('CPU backend: identical bytes to showCamOnImage', async () => {
  await fc.assert(fc.asyncProperty(imageAndCam, async ({ img, cam, weight }) => {
    const host = F.showCamOnImage(img, cam, { imageWeight: weight });
    const dev = await F.showCamOnImageDevice(img, F.tensor(cam, [img.height, img.width], { device: 'cpu' }), { imageWeight: weight });
    expect(Array.from(dev.data)).toEqual(Array.from(host.data));
  }), { numRuns: 60 });
});

test('a cam that does not match the image is an error', async () => {
  await expect(F.showCamOnImageDevice({ width: 2, height: 2, data: new Uint8Array(12) }, F.zeros([3, 2]))).rejects.toThrow(/does not match a 2×2 image/);
});

describeGpu('WebGPU overlay', () => {
  test('within one level of showCamOnImage', async () => {
    await fc.assert(fc.asyncProperty(imageAndCam, async ({ img, cam, weight }) => {
      const host = F.showCamOnImage(img, cam, { imageWeight: weight });
      const dev = await F.showCamOnImageDevice(img, F.tensor(cam, [img.height, img.width], { device: 'webgpu' }), { imageWeight: weight });
      let worst = 0;
      for (let i = 0; i < host.data.length; i++) worst = Math.max(worst, Math.abs(dev.data[i] - host.data[i]));
      expect(worst).toBeLessThanOrEqual(1);
    }), { numRuns: 10 });
  });
});
