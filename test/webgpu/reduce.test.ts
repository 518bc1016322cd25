// Reductions and arg-reductions of the WebGPU backend against the CPU reference backend.
import fc from 'fast-check';
import { it } from 'vitest';
import type { ReduceOp } from '../../core/backend';
import { numel } from '../../core/shape';
import { describeGpu, useGpuTeardown } from './setup';
import { FC, arbPlan, arbShape, compareStorages, contiguousLayout, cpuBackend, makePair, pairFrom, planLayout, readStorage, releasePair } from './helpers';
import { EXACT, sumTol } from '../tolerances';

useGpuTeardown();

/** A shape plus a sorted, distinct subset of its axes. */
const arbShapeAxes = arbShape(4, 9).chain((shape) =>
  fc.tuple(
    fc.constant(shape),
    fc.subarray([...shape.keys()]).map((a) => [...a].sort((x, y) => x - y)),
    arbPlan(shape.length, { bcast: true }),
  ),
);

describeGpu('WebGPU reduce', (gpu) => {
  it.each(['sum', 'max', 'min', 'prod'] as ReduceOp[])('%s over random axes of strided views (float32)', async (op) => {
    await fc.assert(
      fc.asyncProperty(arbShapeAxes, fc.integer(), async ([shape, axes, plan], seed) => {
        const layout = planLayout(shape, plan);
        // prod: keep magnitudes near 1 so products stay in range
        const p = op === 'prod' ? pairFrom(gpu, layout, seed, 0.6, 1.5) : pairFrom(gpu, layout, seed);
        const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const k = numel(axes.map((a) => shape[a]));
        const want = cpuBackend.reduce(op, p.cpu, axes);
        let scale: number[] | undefined;
        if (op === 'sum') {
          const abs = cpuBackend.unary('abs', p.cpu);
          const absView = { storage: abs, shape, strides: contiguousLayout(shape).strides, offset: 0, dtype: 'float32' as const };
          scale = Array.from(await readStorage(cpuBackend, cpuBackend.reduce('sum', absView, axes), outShape));
        }
        const tol = op === 'sum' ? { rtol: sumTol(k), atol: 0 } : op === 'prod' ? { rtol: 2 * k * 2 ** -24, atol: 0 } : EXACT;
        await compareStorages(gpu, gpu.reduce(op, p.gpu, axes), want, outShape, tol, `${op} axes ${axes} of ${JSON.stringify(layout)}`, scale);
        releasePair(gpu, p);
      }),
      { ...FC, numRuns: 15 },
    );
  });

  it.each(['sum', 'max', 'min', 'prod'] as ReduceOp[])('%s on int32', async (op) => {
    const p = pairFrom(gpu, contiguousLayout([5, 7, 3]), 11, -3, 4, 'int32');
    for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2], []]) {
      const outShape = [5, 7, 3].map((d, i) => (axes.includes(i) ? 1 : d));
      await compareStorages(gpu, gpu.reduce(op, p.gpu, axes), cpuBackend.reduce(op, p.cpu, axes), outShape, EXACT, `${op} int32 ${axes}`);
    }
    releasePair(gpu, p);
  });

  it('max/min propagate NaN; empty reductions give the identity', async () => {
    const data = new Float32Array([1, NaN, 3, -Infinity, 2, 5, Infinity, NaN, 0, -1, 4, 4]);
    const p = makePair(gpu, contiguousLayout([3, 4]), data);
    for (const op of ['sum', 'max', 'min', 'prod'] as ReduceOp[]) {
      for (const axes of [[0], [1], [0, 1]]) {
        const outShape = [3, 4].map((d, i) => (axes.includes(i) ? 1 : d));
        await compareStorages(gpu, gpu.reduce(op, p.gpu, axes), cpuBackend.reduce(op, p.cpu, axes), outShape, EXACT, `${op} NaN ${axes}`);
      }
    }
    const e = makePair(gpu, { shape: [3, 0], strides: [0, 1], offset: 0, size: 1 }, new Float32Array(1));
    for (const op of ['sum', 'max', 'min', 'prod'] as ReduceOp[]) {
      await compareStorages(gpu, gpu.reduce(op, e.gpu, [1]), cpuBackend.reduce(op, e.cpu, [1]), [3, 1], EXACT, `${op} empty`);
    }
    releasePair(gpu, p, e);
  });

  it('a long reduction (split into chunks and a second pass)', async () => {
    const n = 300_001;
    const p = pairFrom(gpu, contiguousLayout([n]), 5, 0, 1);
    const want = cpuBackend.reduce('sum', p.cpu, [0]);
    const absSum = await readStorage(cpuBackend, want, [1]);
    await compareStorages(gpu, gpu.reduce('sum', p.gpu, [0]), want, [1], { rtol: sumTol(n), atol: 0 }, 'sum 300001', absSum);
    await compareStorages(gpu, gpu.reduce('max', p.gpu, [0]), cpuBackend.reduce('max', p.cpu, [0]), [1], EXACT, 'max 300001');
    const q = pairFrom(gpu, contiguousLayout([3, 50_000]), 6);
    await compareStorages(gpu, gpu.reduce('min', q.gpu, [1]), cpuBackend.reduce('min', q.cpu, [1]), [3, 1], EXACT, 'min rows');
    releasePair(gpu, p, q);
  });
});

describeGpu('WebGPU argReduce', (gpu) => {
  it.each(['argmax', 'argmin'] as const)('%s along any axis of strided views, ties and NaN', async (op) => {
    await fc.assert(
      fc.asyncProperty(arbShape(4, 8, 1).chain((shape) => fc.tuple(fc.constant(shape), fc.integer({ min: 0, max: shape.length - 1 }), arbPlan(shape.length, { bcast: true }))), fc.integer(), fc.boolean(), async ([shape, axis, plan], seed, withNaN) => {
        const layout = planLayout(shape, plan);
        const p = pairFrom(gpu, layout, seed, -3, 3);
        p.data.forEach((v, i, arr) => (arr[i] = withNaN && v > 2.6 ? NaN : Math.round(v))); // ties
        const q = makePair(gpu, layout, p.data);
        const outShape = shape.map((d, i) => (i === axis ? 1 : d));
        await compareStorages(gpu, gpu.argReduce(op, q.gpu, axis), cpuBackend.argReduce(op, q.cpu, axis), outShape, EXACT, `${op} axis ${axis}`);
        const qi = pairFrom(gpu, layout, seed, -5, 5, 'int32');
        await compareStorages(gpu, gpu.argReduce(op, qi.gpu, axis), cpuBackend.argReduce(op, qi.cpu, axis), outShape, EXACT, `${op} int32 axis ${axis}`);
        releasePair(gpu, p, q, qi);
      }),
      { ...FC, numRuns: 15 },
    );
  });
});
