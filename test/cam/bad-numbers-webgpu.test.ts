// Items 13 and 15 of issue 13 on the WebGPU backend: the numeric and size errors are raised from device
// tensors too, and a CAM call that fails frees everything it made (pool bytes in use return to the start).
import { expect, test } from 'vitest';
import * as F from '../../index';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
import { TinyCNN, det } from '../helpers/tiny-cnn';

useGpuTeardown();
if (gpu) registerBackend(gpu);

describeGpu('CAM errors on WebGPU', (backend) => {
  test('numeric and size errors free every buffer the failed call made', async () => {
    const model = new TinyCNN();
    await model.to('webgpu');
    const x = F.keep(await det([2, 3, 8, 8], 0.3, 0.1, 1).toDevice('webgpu'));
    const finer = new F.FinerCAM({ model, targetLayers: ['c2'] });
    const grad = new F.GradCAM({ model, targetLayers: ['c2'] });
    const nanGrad = (out: F.Tensor) => F.sqrt(F.sub(F.select(out, 0, 1), F.select(out, 0, 1)));
    // warm-up: pipelines and pool buckets
    const ok = await finer.forward({ inputTensor: x });
    ok.cam.dispose();
    ok.outputs.dispose();
    await backend.sync();
    const start = backend.stats().bytesInUse;

    const bad = F.keep(await F.tensor(Float32Array.from(await x.data(), (v, i) => (i === 200 ? NaN : v)), [2, 3, 8, 8]).toDevice('webgpu'));
    const e1 = await finer.forward({ inputTensor: bad }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(F.CamNumericError);
    expect((e1 as F.CamNumericError).stage).toBe('input');
    expect((e1 as F.CamNumericError).sample).toBe(1);
    bad.dispose();

    // the error comes after the forward and backward passes and one map: all of them must be freed
    const e2 = await finer.forwardModes({ inputTensor: x, modes: [{ alpha: 1 }], targets: [nanGrad, nanGrad] }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(F.CamNumericError);
    expect((e2 as Error).message).toMatch(/^FinerCAM\.forward: NaN or ±Inf in the gradients at target layer 0 \('c2'\) \(first in sample 0\)/);

    await expect(grad.forward({ inputTensor: x, targetSize: [64, 64], maxOutputPixels: 4095 })).rejects.toThrow(/above maxOutputPixels \(4,095\)/);
    await expect(finer.forward({ inputTensor: x, maxOutputPixels: 15 })).rejects.toThrow(/the feature grid \(targetSize omitted\) gives maps of 4×4 = 16 pixels/);

    await backend.sync();
    expect(backend.stats().bytesInUse).toBe(start);
    x.dispose();
    model.dispose();
  });
});
