// conv2dScaled (BatchNorm's scale applied where the wasm backend packs the weights, models/fold-batchnorm.ts)
// equals conv2d on the product tensor s·w bit for bit — on the im2col/pointwise GEMM path and on Winograd,
// over random geometries (groups, strides, padding, odd channel counts, batch > 1), with and without the
// bias/relu epilogue — and its packed copy follows the scale: a new scale storage, or the old one released,
// never serves stale weights nor leaks memory.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Conv2dParams, Storage, View } from '../../core/backend';
import { contiguousStrides } from '../../core/shape';
import { WasmBackend } from '../../kernels/wasm/backend';
import { randomData } from '../webgpu/helpers';

const view = (s: Storage, shape: number[]): View => ({ storage: s, shape, strides: contiguousStrides(shape), offset: 0, dtype: 'float32' });
const outSize = (n: number, k: number, s: number, p: number): number => Math.floor((n + 2 * p - k) / s) + 1;

describe('wasm conv2dScaled', () => {
  for (const algo of ['auto', 'gemm', 'winograd'] as const) {
    it(`equals conv2d on s·w bit for bit (${algo})`, async () => {
      const be = new WasmBackend({ threads: 1 });
      be.setConvAlgorithm(algo);
      const geo = fc.record({
        N: fc.integer({ min: 1, max: 2 }), Cg: fc.integer({ min: 1, max: 9 }), Og: fc.integer({ min: 1, max: 13 }), groups: fc.constantFrom(1, 1, 2),
        H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }), k: fc.constantFrom(1, 3, 3, 5), s: fc.constantFrom(1, 1, 2), pad: fc.integer({ min: 0, max: 2 }),
        bias: fc.boolean(), relu: fc.boolean(), seed: fc.integer({ min: 0, max: 1000 }),
      }).filter((g) => outSize(g.H, g.k, g.s, g.pad) >= 1 && outSize(g.W, g.k, g.s, g.pad) >= 1);
      await fc.assert(fc.asyncProperty(geo, async (g) => {
        const C = g.Cg * g.groups, O = g.Og * g.groups;
        const p: Conv2dParams = { stride: [g.s, g.s], padding: [g.pad, g.pad], dilation: [1, 1], groups: g.groups };
        const wShape = [O, g.Cg, g.k, g.k];
        const wData = randomData(O * g.Cg * g.k * g.k, g.seed);
        const sData = randomData(O, g.seed + 1);
        const folded = new Float32Array(wData.length);
        const per = wData.length / O;
        for (let i = 0; i < wData.length; i++) folded[i] = Math.fround(wData[i] * sData[Math.floor(i / per)]);
        const x = be.upload(randomData(g.N * C * g.H * g.W, g.seed + 2));
        const w = be.upload(wData), sc = be.upload(sData), wf = be.upload(folded), b = be.upload(randomData(O, g.seed + 3));
        const epi = { bias: g.bias ? view(b, [O]) : null, activation: g.relu ? 'relu' as const : 'none' as const };
        const yShape = [g.N, O, outSize(g.H, g.k, g.s, g.pad), outSize(g.W, g.k, g.s, g.pad)];
        const xv = view(x, [g.N, C, g.H, g.W]);
        const got = await be.read(view(be.conv2dScaled(xv, view(w, wShape), view(sc, [O]), p, epi), yShape));
        const want = await be.read(view(be.conv2d(xv, view(wf, wShape), p, epi), yShape));
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
        for (const s of [x, w, sc, wf, b]) be.release(s);
      }), { numRuns: 30, seed: 77 });
    });
  }

  it('a new scale gives new weights; releasing the scale frees the pack made with it', async () => {
    const be = new WasmBackend({ threads: 1 });
    const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    const x = view(be.upload(randomData(1 * 20 * 8 * 8, 1)), [1, 20, 8, 8]);
    const w = view(be.upload(randomData(24 * 20 * 9, 2)), [24, 20, 3, 3]);
    const start = be.stats().bytesInUse;
    const s1 = be.upload(randomData(24, 3));
    const out1 = be.conv2dScaled(x, w, view(s1, [24]), p);
    const y1 = await be.read(view(out1, [1, 24, 8, 8]));
    expect(be.stats().bytesInUse).toBeGreaterThan(start + 96 + 24 * 64 * 4); // s1, the output and the pack
    be.release(out1);
    be.release(s1);
    expect(be.stats().bytesInUse).toBe(start); // the pack scaled by s1 went with it
    const s2 = be.upload(randomData(24, 4));
    const y2 = await be.read(view(be.conv2dScaled(x, w, view(s2, [24]), p), [1, 24, 8, 8]));
    expect(Buffer.from(y2.buffer).equals(Buffer.from(y1.buffer))).toBe(false);
    expect(() => be.conv2dScaled(x, w, view(s2, [12]), p)).toThrow(/scale must be 1-D float32 with 24 elements/);
  });
});
