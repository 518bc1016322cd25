// softmax / logSoftmax / layerNorm and gather / scatterAdd of the WebGPU backend against the CPU.
import fc from 'fast-check';
import { afterAll, beforeAll, it } from 'vitest';
import { setRowReduction } from '../../kernels/webgpu/rows';
import { numel } from '../../core/shape';
import { describeGpu, useGpuTeardown } from './setup';
import { FC, arbPlan, arbShape, compareStorages, contiguousLayout, cpuBackend, makePair, pairFrom, planLayout, releasePair } from './helpers';
import { EXACT, ROWWISE } from '../tolerances';

useGpuTeardown();

for (const mode of ['auto', 'workgroup'] as const) describeGpu(`WebGPU row-wise kernels (${mode} reduction)`, (gpu) => {
  beforeAll(() => setRowReduction(mode));
  afterAll(() => setRowReduction('auto'));

  it.each([false, true])('softmax (log = %s) on random rows, including strided views and long rows', async (log) => {
    await fc.assert(
      fc.asyncProperty(arbShape(3, 9, 1).chain((shape) => fc.tuple(fc.constant(shape), arbPlan(shape.length))), fc.integer(), async ([shape, plan], seed) => {
        const p = pairFrom(gpu, planLayout(shape, plan), seed, -10, 10);
        await compareStorages(gpu, gpu.softmax(p.gpu, log), cpuBackend.softmax(p.cpu, log), shape, ROWWISE, `softmax ${JSON.stringify(p.layout)}`);
        releasePair(gpu, p);
      }),
      { ...FC, numRuns: 15 },
    );
    for (const shape of [[3, 197], [2, 1000], [1, 64], [5, 65], [1, 1]]) {
      const p = pairFrom(gpu, contiguousLayout(shape, 3), 9, -20, 20);
      await compareStorages(gpu, gpu.softmax(p.gpu, log), cpuBackend.softmax(p.cpu, log), shape, ROWWISE, `softmax ${shape}`);
      releasePair(gpu, p);
    }
  });

  it('softmax special rows: -inf entries, all -inf (NaN), NaN, +inf', async () => {
    const data = new Float32Array([0, -Infinity, 1, 2, -Infinity, -Infinity, -Infinity, -Infinity, 1, NaN, 2, 3, 5, Infinity, 1, 0]);
    const p = makePair(gpu, contiguousLayout([4, 4]), data);
    for (const log of [false, true]) await compareStorages(gpu, gpu.softmax(p.gpu, log), cpuBackend.softmax(p.cpu, log), [4, 4], ROWWISE, `softmax specials log=${log}`);
    releasePair(gpu, p);
  });

  it('layerNorm with and without affine parameters, strided inputs', async () => {
    await fc.assert(
      fc.asyncProperty(arbShape(3, 9, 1).chain((shape) => fc.tuple(fc.constant(shape), arbPlan(shape.length))), fc.integer(), fc.integer({ min: 0, max: 3 }), async ([shape, plan], seed, affine) => {
        const cols = shape[shape.length - 1];
        const rows = numel(shape) / cols;
        const x = pairFrom(gpu, planLayout(shape, plan), seed, -4, 6);
        const w = affine & 1 ? pairFrom(gpu, { shape: [cols], strides: [2], offset: 1, size: 2 * cols + 1 }, seed + 1) : null;
        const b = affine & 2 ? pairFrom(gpu, contiguousLayout([cols]), seed + 2) : null;
        const eps = 1e-5;
        const g = gpu.layerNorm(x.gpu, w?.gpu ?? null, b?.gpu ?? null, eps);
        const c = cpuBackend.layerNorm(x.cpu, w?.cpu ?? null, b?.cpu ?? null, eps);
        await compareStorages(gpu, g.y, c.y, shape, ROWWISE, 'layerNorm y');
        await compareStorages(gpu, g.mean, c.mean, [rows], ROWWISE, 'layerNorm mean');
        await compareStorages(gpu, g.rstd, c.rstd, [rows], ROWWISE, 'layerNorm rstd');
        releasePair(gpu, x, ...(w ? [w] : []), ...(b ? [b] : []));
      }),
      { ...FC, numRuns: 15 },
    );
    const x = pairFrom(gpu, contiguousLayout([197, 768]), 4, -3, 3);
    const g = gpu.layerNorm(x.gpu, null, null, 1e-6);
    const c = cpuBackend.layerNorm(x.cpu, null, null, 1e-6);
    await compareStorages(gpu, g.y, c.y, [197, 768], ROWWISE, 'layerNorm ViT rows');
    gpu.release(g.mean);
    gpu.release(g.rstd);
    releasePair(gpu, x);
  });
});

describeGpu('WebGPU gather / scatterAdd', (gpu) => {
  it('gather along any dim with strided x and index (float32 and int32 x)', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbShape(4, 6, 1).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.length - 1 }), arbPlan(shape.length), arbPlan(shape.length))),
        fc.integer(), fc.boolean(), fc.integer({ min: 1, max: 5 }),
        async ([xshape, dim, px, pi], seed, intX, idxLen) => {
          const ishape = xshape.map((d, i) => (i === dim ? idxLen : Math.max(1, d - (seed & 1))));
          const x = pairFrom(gpu, planLayout(xshape, px), seed, -9, 9, intX ? 'int32' : 'float32');
          const idx = pairFrom(gpu, planLayout(ishape, pi), seed + 1, 0, xshape[dim], 'int32');
          await compareStorages(gpu, gpu.gather(x.gpu, dim, idx.gpu), cpuBackend.gather(x.cpu, dim, idx.cpu), ishape, EXACT, `gather dim ${dim}`);
          releasePair(gpu, x, idx);
        },
      ),
      { ...FC, numRuns: 20 },
    );
  });

  it('scatterAdd along any dim with repeated indices (bit-identical to the CPU)', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbShape(4, 6, 1).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.length - 1 }), arbPlan(shape.length), arbPlan(shape.length))),
        fc.integer(), fc.boolean(), fc.integer({ min: 1, max: 7 }),
        async ([oshape, dim, pi, ps], seed, intSrc, idxLen) => {
          const ishape = oshape.map((d, i) => (i === dim ? idxLen : Math.max(1, d - (seed & 1))));
          const idx = pairFrom(gpu, planLayout(ishape, pi), seed, 0, oshape[dim], 'int32');
          const src = pairFrom(gpu, planLayout(ishape, ps), seed + 1, -5, 5, intSrc ? 'int32' : 'float32');
          await compareStorages(gpu, gpu.scatterAdd(oshape, dim, idx.gpu, src.gpu), cpuBackend.scatterAdd(oshape, dim, idx.cpu, src.cpu), oshape, EXACT, `scatterAdd dim ${dim}`);
          releasePair(gpu, idx, src);
        },
      ),
      { ...FC, numRuns: 20 },
    );
  });
});
