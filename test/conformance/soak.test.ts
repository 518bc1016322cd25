// Soak: 1,000 forward+backward passes of a small conv net on WebGPU, each inside tidy(), leave the buffer
// pool's bytes-in-use where they started — nothing leaks from ops, their gradient rules or the graph.
import { expect, test } from 'vitest';
import * as F from '../../index';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';

useGpuTeardown();
if (gpu) registerBackend(gpu);

describeGpu('WebGPU soak', (backend) => {
  test('1,000 forward+backward passes keep bytes in use constant', async () => {
    F.manualSeed(7);
    const model = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], numClasses: 5 });
    await model.to('webgpu');
    model.eval();
    const x = F.keep(await F.randn([1, 3, 16, 16]).toDevice('webgpu'));
    const step = () => F.tidy(() => {
      const logits = model.forward(x);
      const loss = F.crossEntropy(logits, F.tensor([2], [1], { dtype: 'int32', device: 'webgpu' }));
      const grads = F.grad(loss, model.parameters());
      return grads.length;
    });
    step(); // warm-up: pipelines and pool buckets
    await backend.sync();
    const before = backend.stats().bytesInUse;
    for (let i = 0; i < 1000; i++) {
      step();
      if (i % 100 === 99) await backend.sync();
    }
    await backend.sync();
    expect(backend.stats().bytesInUse).toBe(before);
  }, 600_000);
});

describeGpu('WebGPU CAM soak', (backend) => {
  test('repeated FinerCAM and augSmooth GradCAM passes free everything but their results', async () => {
    F.manualSeed(8);
    const model = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], numClasses: 5 });
    await model.to('webgpu');
    const x = F.keep(await F.randn([2, 3, 32, 32]).toDevice('webgpu'));
    const finer = new F.FinerCAM({ model, targetLayers: ['layer3'] });
    const grad = new F.GradCAM({ model, targetLayers: ['layer4'] });
    const pass = async () => {
      const r = await finer.forwardModes({ inputTensor: x, modes: [{ alpha: 0 }, { alpha: 1 }, { alpha: 1, referenceCategoryRanks: [1] }] });
      for (const c of r.cams) c.dispose();
      r.outputs.dispose();
      const g = await grad.forward({ inputTensor: x, augSmooth: true });
      g.cam.dispose();
      g.outputs.dispose();
    };
    await pass(); // warm-up
    await backend.sync();
    const before = backend.stats().bytesInUse;
    for (let i = 0; i < 5; i++) await pass();
    await backend.sync();
    expect(backend.stats().bytesInUse).toBe(before);
  }, 300_000);
});
