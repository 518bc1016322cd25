// One-row matmuls on wasm take the matrix–vector kernels (kernels/wasm/gemm-kernel.ts addGemvKernels):
// against the CPU backend within the GEMM's tolerance (sumTol of Σ|terms|, epilogueTol for bias/relu/gelu),
// with B's rows contiguous (gemv_rows) or its columns contiguous (gemv_dots: a transposed weight), K and N off
// the 4-lane width, batch > 1 (and a broadcast batch), flipped and broadcast B views.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { EpilogueActivation, View } from '../../core/backend';
import { WasmBackend } from '../../kernels/wasm/backend';
import { contiguousLayout, cpuBackend, expectClose, pairFrom, planLayout, readStorage, releasePair } from '../webgpu/helpers';
import type { Pair } from '../webgpu/helpers';
import { epilogueTol } from '../tolerances';

function abs(v: View): View {
  return { storage: cpuBackend.unary('abs', v), shape: v.shape, strides: contiguousLayout([...v.shape]).strides, offset: 0, dtype: 'float32' };
}

describe('wasm matmul with one row (GEMV)', () => {
  const be = new WasmBackend({ threads: 1 });
  it('random K, N, layouts and epilogues: within epilogueTol of the CPU', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }), fc.integer({ min: 60, max: 700 }), fc.integer({ min: 60, max: 300 }), fc.boolean(),
      fc.constantFrom<EpilogueActivation>('none', 'relu', 'gelu'), fc.boolean(), fc.integer({ min: 0, max: 9 }), fc.integer(),
      async (B, K, N, transposed, act, withBias, flip, seed) => {
        const a = pairFrom(be, contiguousLayout([B, 1, K]), seed);
        // B as [B, K, N] with contiguous rows, or as the transpose of a contiguous [B, N, K] (Linear's Wᵀ);
        // flip = 0 also flips the columns (negative stride)
        const plan = { steps: [1, 1, 1], flips: [false, false, flip === 0], bcast: [flip === 1, false, false], perm: transposed ? [0, 2, 1] : [0, 1, 2], offset: flip };
        const b: Pair = pairFrom(be, planLayout([B, K, N], plan), seed + 1);
        const bias = withBias ? pairFrom(be, contiguousLayout([N]), seed + 2) : null;
        const epi = (which: 'cpu' | 'gpu') => ({ bias: bias ? bias[which] : null, activation: act });
        const scale = await readStorage(cpuBackend, cpuBackend.matmul(abs(a.cpu), abs(b.cpu), { bias: bias && abs(bias.cpu) }), [B, 1, N]);
        const got = await readStorage(be, be.matmul(a.gpu, b.gpu, epi('gpu')), [B, 1, N]);
        const want = await readStorage(cpuBackend, cpuBackend.matmul(a.cpu, b.cpu, epi('cpu')), [B, 1, N]);
        const t = epilogueTol(K, act, scale, want);
        expectClose(got, want, t.tol, `gemv ${JSON.stringify({ B, K, N, transposed, act, withBias, flip })}`, t.scale);
        releasePair(be, a, b, ...(bias ? [bias] : []));
      }), { numRuns: 40, seed: 5 });
  });
});
