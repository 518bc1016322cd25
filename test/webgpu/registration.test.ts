// kernels/webgpu/index.ts registers the WebGPU backend with core: setDefaultDevice('webgpu') creates it on demand.
// (This file runs in its own process, so the device it creates is the only one here.)
import { afterAll, expect, it } from 'vitest';
import '../../index'; // registers the CPU backend, as a user's import does
import { forgetBackend, getBackend, getDefaultBackend, setDefaultDevice } from '../../core/device';
import { WebGPUBackend, getWebGPUInfo } from '../../kernels/webgpu/index';
import { describeGpu, gpu as sharedGpu } from './setup';

describeGpu('WebGPU backend registration', () => {
  afterAll(() => sharedGpu?.destroy());

  it('setDefaultDevice("webgpu") creates and selects the backend; info and kernels work', async () => {
    expect(await setDefaultDevice('webgpu')).toBe('webgpu');
    const b = getDefaultBackend();
    expect(b).toBeInstanceOf(WebGPUBackend);
    const info = await getWebGPUInfo();
    expect(info?.features).toBeInstanceOf(Array);
    const s = b.upload(new Float32Array([1, 2, 3]));
    const y = b.unary('square', { storage: s, shape: [3], strides: [1], offset: 0, dtype: 'float32' });
    expect(Array.from(await b.read({ storage: y, shape: [3], strides: [1], offset: 0, dtype: 'float32' }))).toEqual([1, 4, 9]);
    b.release(s);
    b.release(y);
    await setDefaultDevice('cpu');
  });

  it('a destroyed backend is forgotten and a new one can be created', async () => {
    const b = (await getBackend('webgpu')) as WebGPUBackend;
    b.destroy();
    expect(() => b.full(1, 'float32', 0)).toThrow(/destroyed|lost/);
    const again = await getBackend('webgpu');
    expect(again).toBeInstanceOf(WebGPUBackend);
    expect(again).not.toBe(b);
    forgetBackend('webgpu');
    (again as WebGPUBackend).destroy();
  });
});
