// FINERCAM_WGSL_DUMP=dir writes every shader as it is compiled, named by its kernel key, so the WGSL that
// matmul assembles at run time can be read.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { contiguousStrides } from '../../core/shape';
import { createWebGPUBackend } from '../../kernels/webgpu/webgpu-backend';
import { dumpFileName } from '../../kernels/webgpu/runtime/wgsl-dump';
import { describeGpu } from './setup';

const dir = mkdtempSync(join(tmpdir(), 'finercam-wgsl-'));
afterAll(() => {
  delete process.env.FINERCAM_WGSL_DUMP;
  rmSync(dir, { recursive: true, force: true });
});

describeGpu('FINERCAM_WGSL_DUMP', () => {
  it('writes each compiled shader once, named by its key, with the source the device compiled', async () => {
    process.env.FINERCAM_WGSL_DUMP = dir;
    const gpu = (await createWebGPUBackend())!; // a fresh runtime: nothing compiled yet
    try {
      const view = (s: ReturnType<typeof gpu.upload>, shape: number[]) => ({ storage: s, shape, strides: contiguousStrides(shape), offset: 0, dtype: 'float32' as const });
      const a = gpu.upload(Float32Array.from({ length: 12 }, (_, i) => i));
      const b = gpu.upload(Float32Array.from({ length: 8 }, (_, i) => i % 3));
      const c = gpu.matmul(view(a, [1, 3, 4]), view(b, [1, 4, 2]));
      // a·b computed by hand: rows of a are [0..3], [4..7], [8..11]; b = [[0,1],[2,0],[1,2],[0,1]]
      expect(Array.from(await gpu.read(view(c, [1, 3, 2])))).toEqual([4, 7, 16, 23, 28, 39]);
      gpu.matmul(view(a, [1, 3, 4]), view(b, [1, 4, 2])); // same kernel: no second file
      await gpu.sync();
      const files = readdirSync(dir).filter((f) => f.startsWith('matmul'));
      expect(files).toHaveLength(1);
      const text = readFileSync(join(dir, files[0]), 'utf8');
      const key = text.split('\n')[0].replace('// kernel ', '');
      expect(files[0]).toBe(dumpFileName(key));
      expect(key).toMatch(/^matmul(_tiled)?\|/);
      expect(text).toMatch(/@compute @workgroup_size\(/);
      expect(text).toMatch(/var<uniform> u: Params;/);
    } finally {
      gpu.destroy();
    }
  });
});
