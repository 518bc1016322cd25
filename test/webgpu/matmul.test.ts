// Batched matmul of the WebGPU backend against the CPU reference, over layouts that exercise every access mode.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { Backend, EpilogueActivation, View } from '../../core/backend';
import { chooseModes } from '../../kernels/webgpu/matmul';
import { describeGpu, useGpuTeardown } from './setup';
import { FC, arbPlan, compareStorages, contiguousLayout, cpuBackend, expectClose, pairFrom, planLayout, readStorage, releasePair } from './helpers';
import type { Pair } from './helpers';
import { epilogueTol, sumTol } from '../tolerances';

useGpuTeardown();

/** |A|·|B| on the CPU: the scale of each output's float32 rounding error. */
export async function absProductScale(a: Pair, b: Pair, outShape: number[]): Promise<number[]> {
  const abs = (v: View): View => {
    const s = cpuBackend.unary('abs', v);
    return { storage: s, shape: v.shape, strides: contiguousLayout([...v.shape]).strides, offset: 0, dtype: 'float32' };
  };
  return Array.from(await readStorage(cpuBackend, cpuBackend.matmul(abs(a.cpu), abs(b.cpu)), outShape));
}

async function check(gpu: Backend, a: Pair, b: Pair, label: string): Promise<void> {
  const [B, M, K] = a.layout.shape;
  const N = b.layout.shape[2];
  const scale = await absProductScale(a, b, [B, M, N]);
  await compareStorages(gpu, gpu.matmul(a.gpu, b.gpu), cpuBackend.matmul(a.cpu, b.cpu), [B, M, N], { rtol: sumTol(K), atol: 0 }, label, scale);
}

/** Fused epilogue act(A·B + bias) (bias [N] or none) against the CPU backend's epilogue. */
async function checkEpilogue(gpu: Backend, a: Pair, b: Pair, bias: Pair | null, act: EpilogueActivation, label: string): Promise<void> {
  const [B, M, K] = a.layout.shape;
  const N = b.layout.shape[2];
  const absBias = bias && { storage: cpuBackend.unary('abs', bias.cpu), shape: [N], strides: [1], offset: 0, dtype: 'float32' as const };
  const abs = (v: View): View => ({ storage: cpuBackend.unary('abs', v), shape: v.shape, strides: contiguousLayout([...v.shape]).strides, offset: 0, dtype: 'float32' });
  // Σ|terms| = |A|·|B| + |bias|
  const scale = await readStorage(cpuBackend, cpuBackend.matmul(abs(a.cpu), abs(b.cpu), { bias: absBias }), [B, M, N]);
  const got = await readStorage(gpu, gpu.matmul(a.gpu, b.gpu, { bias: bias?.gpu, activation: act }), [B, M, N]);
  const want = await readStorage(cpuBackend, cpuBackend.matmul(a.cpu, b.cpu, { bias: bias?.cpu, activation: act }), [B, M, N]);
  const t = epilogueTol(K, act, scale, want);
  expectClose(got, want, t.tol, label, t.scale);
}

describeGpu('WebGPU matmul', (gpu) => {
  it('fused epilogue (bias by the last dim, relu / gelu): random sizes and layouts', async () => {
    const dims = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 0, max: 37 }), fc.integer({ min: 1, max: 37 }));
    const acts = fc.constantFrom<EpilogueActivation>('none', 'relu', 'gelu');
    await fc.assert(
      fc.asyncProperty(dims.chain((d) => fc.tuple(fc.constant(d), arbPlan(3, { bcast: true }), arbPlan(3, { bcast: true }), arbPlan(1))), acts, fc.boolean(), fc.integer(),
        async ([[B, M, K, N], pa, pb, pbias], act, withBias, seed) => {
          pa.bcast = [pa.bcast[0], false, false];
          pb.bcast = [pb.bcast[0], false, false];
          const a = pairFrom(gpu, planLayout([B, M, K], pa), seed);
          const b = pairFrom(gpu, planLayout([B, K, N], pb), seed + 1);
          const bias = withBias || act === 'none' ? pairFrom(gpu, planLayout([N], pbias), seed + 2) : null;
          await checkEpilogue(gpu, a, b, bias, act, `matmul epilogue ${act} bias ${bias !== null} ${JSON.stringify([a.layout, b.layout, bias?.layout])}`);
          releasePair(gpu, a, b, ...(bias ? [bias] : []));
        }),
      { ...FC, numRuns: 30 },
    );
  });

  it.each(['none', 'relu', 'gelu'] as const)('fused epilogue %s at tile edges, vec4 and scalar stores', async (act) => {
    for (const [B, M, K, N] of [[1, 64, 64, 32], [2, 65, 33, 36], [1, 13, 8, 21], [3, 1, 12, 8]]) {
      const a = pairFrom(gpu, contiguousLayout([B, M, K]), B * 100 + M);
      const b = pairFrom(gpu, { shape: [B, K, N], strides: [K * N, 1, K], offset: 0, size: B * K * N }, K * 100 + N);
      const bias = pairFrom(gpu, contiguousLayout([N], 3), N);
      await checkEpilogue(gpu, a, b, bias, act, `matmul epilogue ${act} ${[B, M, K, N]}`);
      releasePair(gpu, a, b, bias);
    }
  });

  it('random sizes and layouts (transposed, sliced, flipped, batch-broadcast)', async () => {
    const dims = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 37 }));
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(dims.chain((d) => fc.tuple(fc.constant(d), arbPlan(3, { bcast: true }), arbPlan(3, { bcast: true }))), fc.integer(), async ([[B, M, K, N], pa, pb], seed) => {
        // broadcast only along the batch axis, as the front end does
        pa.bcast = [pa.bcast[0], false, false];
        pb.bcast = [pb.bcast[0], false, false];
        const a = pairFrom(gpu, planLayout([B, M, K], pa), seed);
        const b = pairFrom(gpu, planLayout([B, K, N], pb), seed + 1);
        const m = chooseModes(a.gpu, b.gpu);
        seen.add(`${m.a}${m.b}`);
        await check(gpu, a, b, `matmul ${JSON.stringify([a.layout, b.layout])}`);
        releasePair(gpu, a, b);
      }),
      { ...FC, numRuns: 40 },
    );
    expect(seen.size).toBeGreaterThan(1);
  });

  it.each([
    ['contiguous', false, false],
    ['A transposed', true, false],
    ['B transposed (x·Wᵀ)', false, true],
    ['both transposed', true, true],
  ])('every vec4 mode: %s, sizes around tile edges', async (_name, ta, tb) => {
    for (const [B, M, K, N] of [[1, 64, 64, 32], [2, 65, 33, 36], [1, 4, 4, 4], [3, 13, 8, 20], [1, 128, 7, 96], [1, 1, 12, 8]]) {
      const aL = ta ? { shape: [B, M, K], strides: [M * K, 1, M], offset: 4, size: 4 + B * M * K } : contiguousLayout([B, M, K], 4);
      const bL = tb ? { shape: [B, K, N], strides: [K * N, 1, K], offset: 0, size: B * K * N } : contiguousLayout([B, K, N]);
      const a = pairFrom(gpu, aL, B * 100 + M);
      const b = pairFrom(gpu, bL, K * 100 + N);
      await check(gpu, a, b, `${_name} ${[B, M, K, N]} modes ${JSON.stringify(chooseModes(a.gpu, b.gpu))}`);
      releasePair(gpu, a, b);
    }
  });

  it('K = 0 gives zeros; empty outputs work', async () => {
    const a = pairFrom(gpu, contiguousLayout([2, 3, 0]), 1);
    const b = pairFrom(gpu, contiguousLayout([2, 0, 5]), 2);
    await compareStorages(gpu, gpu.matmul(a.gpu, b.gpu), cpuBackend.matmul(a.cpu, b.cpu), [2, 3, 5], { rtol: 0, atol: 0 }, 'K=0');
    const c = pairFrom(gpu, contiguousLayout([1, 0, 4]), 3);
    const d = pairFrom(gpu, contiguousLayout([1, 4, 6]), 4);
    const out = gpu.matmul(c.gpu, d.gpu);
    expect(out.size).toBe(0);
    gpu.release(out);
    releasePair(gpu, a, b, c, d);
  });

  it('a larger product (256×300 · 300×200)', async () => {
    const a = pairFrom(gpu, contiguousLayout([1, 256, 300]), 10);
    const b = pairFrom(gpu, contiguousLayout([1, 300, 200]), 11);
    await check(gpu, a, b, 'matmul 256x300x200');
    releasePair(gpu, a, b);
  });
});
