// CamSession owns its tensors: the forward graph it keeps alive between explanations is freed by dispose().
// On the allocator-counting backends (wasm's heap, WebGPU's buffer pool) the bytes in use return to where
// they were before the session, after explanations of several methods, with and without a trace — and
// stay above it while the session lives (the check can fail: the graph is really held).
import { expect, test } from 'vitest';
import * as F from '../../index';
import { registerBackend, type DeviceName } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/backend';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';

useGpuTeardown();
const wasm = new WasmBackend();
registerBackend(wasm);
if (gpu) registerBackend(gpu);

async function roundTrip(device: DeviceName, bytesInUse: () => Promise<number>): Promise<void> {
  F.manualSeed(11);
  const model = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 8, 8, 8], numClasses: 6 });
  await model.to(device);
  model.eval();
  const x = F.keep(await F.randn([2, 3, 32, 32]).toDevice(device));
  const use = async (s: F.CamSession): Promise<void> => {
    for (const method of [F.GradCAM, F.LayerCAM, F.GradCAMPlusPlus]) {
      const r = await s.finer({ method, modes: [{ alpha: 0 }, { alpha: 1 }, { alpha: 0.5, referenceCategoryRanks: [1] }], targetSize: [32, 32], trace: method === F.LayerCAM });
      for (const c of r.cams) c.dispose();
    }
    const c = await s.cam({ method: F.XGradCAM, targets: [new F.ClassifierOutputTarget(1), new F.ClassifierOutputTarget(2)] });
    c.cam.dispose();
  };
  // warm-up: kernels' pipelines, scratch blocks and pool buckets
  const warm = await F.CamSession.create({ model, targetLayers: ['layer3'], inputTensor: x });
  await use(warm);
  warm.dispose();
  const start = await bytesInUse();
  const s = await F.CamSession.create({ model, targetLayers: ['layer3'], inputTensor: x });
  await use(s);
  expect(await bytesInUse()).toBeGreaterThan(start); // the output, the activations and the graph
  s.dispose();
  expect(await bytesInUse()).toBe(start);
  x.dispose();
  model.dispose();
}

test('wasm: the bytes in use return to the start after dispose()', async () => {
  await roundTrip('wasm', async () => wasm.stats().bytesInUse);
}, 120_000);

describeGpu('CamSession on WebGPU', (backend) => {
  test('the pool\'s bytes in use return to the start after dispose()', async () => {
    await roundTrip('webgpu', async () => {
      await backend.sync();
      return backend.stats().bytesInUse;
    });
  }, 300_000);
});
