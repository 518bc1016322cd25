// Winograd F(2×2,3×3) convolutions on the wasm backend (kernels/wasm/winograd-kernel.ts) against the CPU
// reference backend: forced on for every shape it applies to (3×3, stride 1, dilation 1, one group) — odd and
// tiny spatial sizes (1×1 … 13×13 with padding 0–2, so tiles cut by the right and bottom edges and outputs
// smaller than one tile), channel counts off the register tile and across KC, batch > 1, strided input and
// weight views, with and without the bias/relu/gelu epilogue — and under 'auto' in the ResNet-50 shapes where
// it is chosen. Its error bound is TOL's winogradTol (test/tolerances.ts), measured against float64 below.
// Also: the packed-weight cache follows writes (copyInto) and releases, and threads give the same bits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Conv2dParams, EpilogueActivation, View } from '../../core/backend';
import { WasmBackend } from '../../kernels/wasm/backend';
import { arbPlan, contiguousLayout, cpuBackend, expectClose, pairFrom, planLayout, readStorage, releasePair } from '../webgpu/helpers';
import { epilogueTol, winogradTol } from '../tolerances';

const outSize = (n: number, k: number, p: number): number => n + 2 * p - k + 1;

function abs(v: View): View {
  return { storage: cpuBackend.unary('abs', v), shape: v.shape, strides: contiguousLayout([...v.shape]).strides, offset: 0, dtype: 'float32' };
}

interface Geo { N: number; C: number; O: number; H: number; W: number; ph: number; pw: number }

const P = (g: Geo): Conv2dParams => ({ stride: [1, 1], padding: [g.ph, g.pw], dilation: [1, 1], groups: 1 });

async function check(be: WasmBackend, g: Geo, seed: number, act: EpilogueActivation, withBias: boolean, plans?: Parameters<typeof planLayout>[1][]): Promise<number> {
  const Ho = outSize(g.H, 3, g.ph), Wo = outSize(g.W, 3, g.pw);
  const x = pairFrom(be, plans ? planLayout([g.N, g.C, g.H, g.W], plans[0]) : contiguousLayout([g.N, g.C, g.H, g.W]), seed);
  const w = pairFrom(be, plans ? planLayout([g.O, g.C, 3, 3], plans[1]) : contiguousLayout([g.O, g.C, 3, 3]), seed + 1);
  const bias = withBias ? pairFrom(be, contiguousLayout([g.O]), seed + 2) : null;
  const p = P(g);
  const yShape = [g.N, g.O, Ho, Wo];
  const scale = await readStorage(cpuBackend, cpuBackend.conv2d(abs(x.cpu), abs(w.cpu), p, { bias: bias && abs(bias.cpu) }), yShape);
  const got = await readStorage(be, be.conv2d(x.gpu, w.gpu, p, { bias: bias?.gpu, activation: act }), yShape);
  const want = await readStorage(cpuBackend, cpuBackend.conv2d(x.cpu, w.cpu, p, { bias: bias?.cpu, activation: act }), yShape);
  const t = epilogueTol(9 * g.C, act, scale, want);
  const tol = { ...t.tol, rtol: winogradTol(9 * g.C) };
  expectClose(got, want, tol, `winograd ${act} ${JSON.stringify(g)}`, t.scale);
  let worst = 0;
  for (let i = 0; i < got.length; i++) if (t.scale[i] > 0) worst = Math.max(worst, Math.abs(got[i] - want[i]) / t.scale[i]);
  releasePair(be, x, w, ...(bias ? [bias] : []));
  return worst;
}

const arbGeo: fc.Arbitrary<Geo> = fc.record({
  N: fc.integer({ min: 1, max: 3 }),
  C: fc.oneof(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 250, max: 300 })),
  O: fc.integer({ min: 1, max: 21 }),
  H: fc.integer({ min: 1, max: 13 }), W: fc.integer({ min: 1, max: 13 }),
  ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
}).filter((g) => outSize(g.H, 3, g.ph) >= 1 && outSize(g.W, 3, g.pw) >= 1);

describe('Winograd F(2×2,3×3) on wasm', () => {
  const be = new WasmBackend({ threads: 1 });
  be.setConvAlgorithm('winograd');

  it('random geometries, strided views, epilogues: within winogradTol of the CPU', async () => {
    const acts = fc.constantFrom<EpilogueActivation>('none', 'relu', 'gelu');
    await fc.assert(
      fc.asyncProperty(arbGeo.chain((g) => fc.tuple(fc.constant(g), arbPlan(4), arbPlan(4))), acts, fc.boolean(), fc.integer(),
        async ([g, px, pw], act, withBias, seed) => {
          await check(be, g, seed, act, withBias, [px, pw]);
        }),
      { numRuns: 40, seed: 909 },
    );
  });

  it.each([
    ['one output pixel (3×3 input, no padding)', { N: 1, C: 5, O: 3, H: 3, W: 3, ph: 0, pw: 0 }],
    ['1×1 input, padding 1', { N: 2, C: 4, O: 9, H: 1, W: 1, ph: 1, pw: 1 }],
    ['odd 7×7 (layer4: 4×4 tiles, the last cut)', { N: 1, C: 24, O: 20, H: 7, W: 7, ph: 1, pw: 1 }],
    ['wide row: 4-tile groups and a clipped tail', { N: 1, C: 3, O: 5, H: 5, W: 37, ph: 1, pw: 1 }],
    ['K across two KC blocks, O off the tile', { N: 2, C: 300, O: 13, H: 6, W: 5, ph: 1, pw: 0 }],
    ['uneven padding', { N: 1, C: 6, O: 7, H: 9, W: 4, ph: 2, pw: 0 }],
  ] as [string, Geo][])('%s', async (_, g) => {
    for (const act of ['none', 'relu'] as const) for (const bias of [false, true]) await check(be, g, 11, act, bias);
  });

  it('the error against float64 stays within winogradTol on ResNet-50-like layers (measured, printed)', async () => {
    // the CPU backend sums in double: this is each path's float32 error relative to Σ|terms|
    const direct = new WasmBackend({ threads: 1 });
    direct.setConvAlgorithm('gemm');
    const worst: Record<string, [number, number]> = {};
    for (const g of [
      { N: 1, C: 64, O: 16, H: 14, W: 14, ph: 1, pw: 1 },
      { N: 1, C: 256, O: 8, H: 7, W: 7, ph: 1, pw: 1 },
      { N: 1, C: 512, O: 4, H: 7, W: 7, ph: 1, pw: 1 },
    ]) worst[`C=${g.C}`] = [await check(be, g, 5, 'none', true), await check(direct, g, 5, 'none', true)];
    console.log('worst |err|/Σ|terms| [winograd, direct]:', JSON.stringify(worst));
    for (const [w] of Object.values(worst)) expect(w).toBeLessThan(winogradTol(9 * 512));
  });

  it('the packed weights follow the weight: a write (copyInto) or release drops them', async () => {
    const g: Geo = { N: 1, C: 6, O: 5, H: 6, W: 6, ph: 1, pw: 1 };
    const x = pairFrom(be, contiguousLayout([1, 6, 6, 6]), 1);
    const w = pairFrom(be, contiguousLayout([5, 6, 3, 3]), 2);
    const w2 = pairFrom(be, contiguousLayout([5, 6, 3, 3]), 3);
    const yShape = [1, 5, 6, 6];
    const first = await readStorage(be, be.conv2d(x.gpu, w.gpu, P(g)), yShape);
    be.copyInto(w2.gpu, w.gpu); // same storage, new values
    const after = await readStorage(be, be.conv2d(x.gpu, w.gpu, P(g)), yShape);
    const want = await readStorage(be, be.conv2d(x.gpu, w2.gpu, P(g)), yShape);
    expect(after).toEqual(want);
    expect(after).not.toEqual(first);
    const before = be.stats().bytesInUse;
    const w3 = pairFrom(be, contiguousLayout([5, 6, 3, 3]), 4);
    be.release(be.conv2d(x.gpu, w3.gpu, P(g)));
    releasePair(be, w3);
    expect(be.stats().bytesInUse).toBe(before); // the pack of w3 went with it
    releasePair(be, x, w, w2);
  });
});

describe('Winograd under auto, threaded', () => {
  it('2 threads equal 1 thread bit for bit, and auto picks Winograd on a ResNet-50 layer3 shape', async () => {
    const one = new WasmBackend({ threads: 1 });
    const two = new WasmBackend({ threads: 2 });
    await two.ready();
    const g: Geo = { N: 1, C: 256, O: 256, H: 14, W: 14, ph: 1, pw: 1 };
    const run = async (be: WasmBackend, algo: 'auto' | 'gemm') => {
      be.setConvAlgorithm(algo);
      const x = pairFrom(be, contiguousLayout([1, 256, 14, 14]), 1);
      const w = pairFrom(be, contiguousLayout([256, 256, 3, 3]), 2);
      const b = pairFrom(be, contiguousLayout([256]), 3);
      const y = await readStorage(be, be.conv2d(x.gpu, w.gpu, P(g), { bias: b.gpu, activation: 'relu' }), [1, 256, 14, 14]);
      releasePair(be, x, w, b);
      return y;
    };
    const a = await run(one, 'auto'), b = await run(two, 'auto'), direct = await run(one, 'gemm');
    expect(two.parallelProducts).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(a).not.toEqual(direct); // a different summation: auto really took the Winograd path
    one.destroy();
    two.destroy();
  });
});
