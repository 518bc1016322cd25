// Item 14 of issue 13: building a model on WebGPU leaves exactly its weights in the buffer pool (the
// random-init temporaries are freed), and Module.dispose() gives every byte back, cycle after cycle.
import { expect, test } from 'vitest';
import * as F from '../../index';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
import { bucketSize } from '../../kernels/webgpu/runtime/pool';

useGpuTeardown();
if (gpu) registerBackend(gpu);

/** Pool bytes the module's own storages take: one bucket per distinct storage (views may share one). */
function weightBytes(m: F.Module): number {
  const storages = new Set<unknown>();
  let bytes = 0;
  for (const [, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
    if (storages.has(t.storage)) continue;
    storages.add(t.storage);
    bytes += bucketSize(t.size * 4);
  }
  return bytes;
}

const builders: [string, () => F.Module][] = [
  ['tiny ResNet (Kaiming-normal conv init)', () => F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 8, 8, 16], numClasses: 10 })],
  ['tiny ViT with registers and a head (trunc-normal init, LayerScale)', () =>
    F.visionTransformer({ imgSize: 28, patchSize: 14, embedDim: 16, depth: 2, numHeads: 2, numRegisterTokens: 2, initValues: 1, numClasses: 5 })],
  ['LinearProbe over a tiny DINOv2-style backbone', () =>
    new F.LinearProbe(F.visionTransformer({ imgSize: 28, patchSize: 14, embedDim: 16, depth: 1, numHeads: 2 }), 7)],
];

describeGpu('Module.dispose on WebGPU', (backend) => {
  test.each(builders)('%s: build → bytes in use = its weights; dispose → back to the start, 3 cycles', async (_name, build) => {
    expect(await F.setDefaultDevice('webgpu')).toBe('webgpu');
    try {
      F.manualSeed(5);
      await backend.sync();
      const start = backend.stats().bytesInUse;
      for (let cycle = 0; cycle < 3; cycle++) {
        const m = build();
        await backend.sync();
        const weights = weightBytes(m);
        expect(weights).toBeGreaterThan(0);
        expect(backend.stats().bytesInUse - start).toBe(weights);
        m.dispose();
        await backend.sync();
        expect(backend.stats().bytesInUse).toBe(start);
      }
    } finally {
      await F.setDefaultDevice('cpu');
    }
  });

  test('a model moved to WebGPU, run and given gradients, frees its weights and their .grad on dispose', async () => {
    F.manualSeed(6);
    const m = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], numClasses: 3 }).eval();
    await backend.sync();
    const start = backend.stats().bytesInUse;
    await m.to('webgpu');
    const x = F.keep(await F.randn([1, 3, 16, 16]).toDevice('webgpu'));
    F.tidy(() => F.sum(m.forward(x)).backward());
    await backend.sync();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    const xBytes = bucketSize(x.size * 4);
    // the gradients take more than nothing beyond the weights and the input
    expect(backend.stats().bytesInUse - start).toBeGreaterThan(weightBytes(m) + xBytes);
    m.dispose();
    await backend.sync();
    expect(backend.stats().bytesInUse).toBe(start + xBytes);
    x.dispose();
    await backend.sync();
    expect(backend.stats().bytesInUse).toBe(start);
  });
});
