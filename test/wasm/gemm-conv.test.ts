// The wasm GEMM and convolutions against the CPU reference backend, on both SIMD paths: mul + add (forced
// with relaxedSimd: false) and f32x4.relaxed_madd (Node 20 has it behind a V8 flag, switched on below before
// any module is compiled). fast-check draws the edge shapes: 1×1, odd sizes, M/N/K off the register tile,
// K across the K blocks (KC = 256), M across the row blocks (MC), strided/flipped/batch-broadcast operands,
// empty dims, and convolutions with strides, padding, dilation and groups, forward and both gradients.
// Tolerance: sumTol(K) of Σ|terms| (test/tolerances.ts, "wasm backend").
import v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend, Conv2dParams, EpilogueActivation, View } from '../../core/backend';
import { WasmBackend } from '../../kernels/wasm/backend';
import { detectFeatures } from '../../kernels/wasm/builder/index';
import { arbPlan, compareStorages, contiguousLayout, cpuBackend, expectClose, pairFrom, planLayout, readStorage, releasePair } from '../webgpu/helpers';
import type { Pair } from '../webgpu/helpers';
import { epilogueTol, sumTol } from '../tolerances';

v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

const FC = { numRuns: 30, seed: 4242 };
const outSize = (n: number, k: number, s: number, p: number, d: number): number => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

function abs(v: View): View {
  return { storage: cpuBackend.unary('abs', v), shape: v.shape, strides: contiguousLayout([...v.shape]).strides, offset: 0, dtype: 'float32' };
}

async function checkMatmul(be: Backend, a: Pair, b: Pair, bias: Pair | null, act: EpilogueActivation, label: string): Promise<void> {
  const [B, M, K] = a.layout.shape;
  const N = b.layout.shape[2];
  const epi = (x: Pair | null, which: 'cpu' | 'gpu') => ({ bias: x ? x[which] : null, activation: act });
  const scale = await readStorage(cpuBackend, cpuBackend.matmul(abs(a.cpu), abs(b.cpu), { bias: bias && abs(bias.cpu) }), [B, M, N]);
  const got = await readStorage(be, be.matmul(a.gpu, b.gpu, epi(bias, 'gpu')), [B, M, N]);
  const want = await readStorage(cpuBackend, cpuBackend.matmul(a.cpu, b.cpu, epi(bias, 'cpu')), [B, M, N]);
  const t = epilogueTol(K, act, scale, want);
  expectClose(got, want, t.tol, label, t.scale);
}

interface Geo { N: number; C: number; O: number; H: number; W: number; kh: number; kw: number; p: Conv2dParams }

const arbGeo: fc.Arbitrary<Geo> = fc
  .record({
    N: fc.integer({ min: 1, max: 2 }), Cg: fc.integer({ min: 1, max: 7 }), Og: fc.integer({ min: 1, max: 11 }), groups: fc.constantFrom(1, 1, 2, 3),
    H: fc.integer({ min: 1, max: 13 }), W: fc.integer({ min: 1, max: 13 }), kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }), ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }),
  })
  .filter((g) => outSize(g.H, g.kh, g.sh, g.ph, g.dh) >= 1 && outSize(g.W, g.kw, g.sw, g.pw, g.dw) >= 1)
  .map((g) => ({
    N: g.N, C: g.Cg * g.groups, O: g.Og * g.groups, H: g.H, W: g.W, kh: g.kh, kw: g.kw,
    p: { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.groups } as Conv2dParams,
  }));

async function checkConv(be: Backend, g: Geo, x: Pair, w: Pair, gy: Pair, bias: Pair | null, act: EpilogueActivation, label: string): Promise<void> {
  const { N, C, O, H, W, kh, kw, p } = g;
  const Ho = outSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = outSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const Cg = C / p.groups, Og = O / p.groups;
  const yShape = [N, O, Ho, Wo];
  const scale = await readStorage(cpuBackend, cpuBackend.conv2d(abs(x.cpu), abs(w.cpu), p, { bias: bias && abs(bias.cpu) }), yShape);
  const got = await readStorage(be, be.conv2d(x.gpu, w.gpu, p, { bias: bias?.gpu, activation: act }), yShape);
  const want = await readStorage(cpuBackend, cpuBackend.conv2d(x.cpu, w.cpu, p, { bias: bias?.cpu, activation: act }), yShape);
  const t = epilogueTol(Cg * kh * kw, act, scale, want);
  expectClose(got, want, t.tol, `conv2d ${act} ${label}`, t.scale);
  const xShape = [N, C, H, W];
  const gxScale = await readStorage(cpuBackend, cpuBackend.conv2dBackwardInput(abs(gy.cpu), abs(w.cpu), p, xShape), xShape);
  await compareStorages(be, be.conv2dBackwardInput(gy.gpu, w.gpu, p, xShape), cpuBackend.conv2dBackwardInput(gy.cpu, w.cpu, p, xShape), xShape, { rtol: sumTol(Og * kh * kw), atol: 0 }, `conv2dBackwardInput ${label}`, gxScale);
  const wShape = [O, Cg, kh, kw];
  const gwScale = await readStorage(cpuBackend, cpuBackend.conv2dBackwardWeight(abs(x.cpu), abs(gy.cpu), p, wShape), wShape);
  await compareStorages(be, be.conv2dBackwardWeight(x.gpu, gy.gpu, p, wShape), cpuBackend.conv2dBackwardWeight(x.cpu, gy.cpu, p, wShape), wShape, { rtol: sumTol(N * Ho * Wo), atol: 0 }, `conv2dBackwardWeight ${label}`, gwScale);
}

it('relaxed SIMD is available once the V8 flag is set (so the relaxed path below really runs)', () => {
  expect(detectFeatures().relaxedSimd).toBe(true);
});

for (const relaxed of [false, true]) {
  describe(`wasm GEMM and conv2d, ${relaxed ? 'f32x4.relaxed_madd' : 'mul + add (fallback forced)'}`, () => {
    const be = new WasmBackend({ relaxedSimd: relaxed });

    it('uses the requested path', () => {
      expect(be.relaxedSimd).toBe(relaxed);
    });

    it('matmul: random sizes across tiles and blocks, strided / flipped / batch-broadcast operands, epilogues', async () => {
      const dims = fc.tuple(
        fc.integer({ min: 1, max: 3 }),
        fc.oneof(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 140, max: 160 })), // M: tile edges, and past MC
        fc.oneof(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 250, max: 530 })), // K: small, and across KC blocks
        fc.integer({ min: 1, max: 41 }),
      );
      const acts = fc.constantFrom<EpilogueActivation>('none', 'relu', 'gelu');
      await fc.assert(
        fc.asyncProperty(dims.chain((d) => fc.tuple(fc.constant(d), arbPlan(3, { bcast: true }), arbPlan(3, { bcast: true }), arbPlan(1))), acts, fc.boolean(), fc.integer(),
          async ([[B, M, K, N], pa, pb, pbias], act, withBias, seed) => {
            pa.bcast = [pa.bcast[0], false, false];
            pb.bcast = [pb.bcast[0], false, false];
            const a = pairFrom(be, planLayout([B, M, K], pa), seed);
            const b = pairFrom(be, planLayout([B, K, N], pb), seed + 1);
            const bias = withBias ? pairFrom(be, planLayout([N], pbias), seed + 2) : null;
            await checkMatmul(be, a, b, bias, act, `matmul ${act} ${JSON.stringify([a.layout, b.layout, bias?.layout])}`);
            releasePair(be, a, b, ...(bias ? [bias] : []));
          }),
        FC,
      );
    });

    it.each([
      [1, 1, 1, 1], [1, 1, 300, 1], [1, 1, 17, 300], [1, 300, 17, 1], [2, 4, 8, 8], [1, 6, 256, 8], [1, 7, 257, 9], [1, 7, 300, 2100],
    ])('matmul %j: 1×1, vectors, exact tiles, K = KC ± 1, N past NC', async (B, M, K, N) => {
      const a = pairFrom(be, contiguousLayout([B, M, K]), M * 7 + K);
      const b = pairFrom(be, { shape: [B, K, N], strides: [K * N, 1, K], offset: 0, size: B * K * N }, N);
      const bias = pairFrom(be, contiguousLayout([N], 2), 5);
      for (const act of ['none', 'relu', 'gelu'] as const) await checkMatmul(be, a, b, bias, act, `${[B, M, K, N]} ${act}`);
      releasePair(be, a, b, bias);
    });

    it('empty dims: K = 0 gives the bias (through the activation), M = 0 / N = 0 give empty outputs', async () => {
      const a = pairFrom(be, contiguousLayout([2, 3, 0]), 1);
      const b = pairFrom(be, contiguousLayout([2, 0, 5]), 2);
      const bias = pairFrom(be, contiguousLayout([5]), 3);
      await checkMatmul(be, a, b, bias, 'relu', 'K = 0');
      await checkMatmul(be, a, b, null, 'none', 'K = 0, no bias');
      const c = pairFrom(be, contiguousLayout([1, 0, 4]), 3);
      const d = pairFrom(be, contiguousLayout([1, 4, 6]), 4);
      expect(be.matmul(c.gpu, d.gpu).size).toBe(0);
      const e = pairFrom(be, contiguousLayout([1, 4, 0]), 5);
      expect(be.matmul(d.gpu, e.gpu).size).toBe(0);
      releasePair(be, a, b, bias, c, d, e);
    });

    it('conv2d forward (with epilogues), input and weight gradients: random geometries and strided layouts', async () => {
      const acts = fc.constantFrom<EpilogueActivation>('none', 'relu', 'gelu');
      await fc.assert(
        fc.asyncProperty(arbGeo.chain((g) => fc.tuple(fc.constant(g), arbPlan(4), arbPlan(4), arbPlan(4), arbPlan(1))), acts, fc.boolean(), fc.integer(),
          async ([g, px, pw, pgy, pb], act, withBias, seed) => {
            const Ho = outSize(g.H, g.kh, g.p.stride[0], g.p.padding[0], g.p.dilation[0]);
            const Wo = outSize(g.W, g.kw, g.p.stride[1], g.p.padding[1], g.p.dilation[1]);
            const x = pairFrom(be, planLayout([g.N, g.C, g.H, g.W], px), seed);
            const w = pairFrom(be, planLayout([g.O, g.C / g.p.groups, g.kh, g.kw], pw), seed + 1);
            const gy = pairFrom(be, planLayout([g.N, g.O, Ho, Wo], pgy), seed + 2);
            const bias = withBias ? pairFrom(be, planLayout([g.O], pb), seed + 3) : null;
            await checkConv(be, g, x, w, gy, bias, act, JSON.stringify(g));
            releasePair(be, x, w, gy, ...(bias ? [bias] : []));
          }),
        { ...FC, numRuns: 25 },
      );
    });

    it.each([
      ['1×1 pointwise (GEMM on the input itself)', { N: 2, C: 12, O: 20, H: 7, W: 9, kh: 1, kw: 1, p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
      ['1×1 stride 2', { N: 1, C: 8, O: 16, H: 9, W: 9, kh: 1, kw: 1, p: { stride: [2, 2], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
      ['7×7/2 stem', { N: 1, C: 3, O: 8, H: 32, W: 32, kh: 7, kw: 7, p: { stride: [2, 2], padding: [3, 3], dilation: [1, 1], groups: 1 } }],
      ['3×3, K = 288 (two K blocks)', { N: 1, C: 32, O: 13, H: 10, W: 10, kh: 3, kw: 3, p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } }],
      ['depthwise 3×3 dilated', { N: 1, C: 8, O: 8, H: 9, W: 9, kh: 3, kw: 3, p: { stride: [1, 1], padding: [2, 2], dilation: [2, 2], groups: 8 } }],
      ['ViT patch embedding 14×14/14', { N: 1, C: 3, O: 12, H: 28, W: 42, kh: 14, kw: 14, p: { stride: [14, 14], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
      ['1×1 input', { N: 2, C: 5, O: 3, H: 1, W: 1, kh: 1, kw: 1, p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
    ] as [string, Geo][])('conv2d %s', async (name, g) => {
      const Ho = outSize(g.H, g.kh, g.p.stride[0], g.p.padding[0], g.p.dilation[0]);
      const Wo = outSize(g.W, g.kw, g.p.stride[1], g.p.padding[1], g.p.dilation[1]);
      const x = pairFrom(be, contiguousLayout([g.N, g.C, g.H, g.W]), 1);
      const w = pairFrom(be, contiguousLayout([g.O, g.C / g.p.groups, g.kh, g.kw]), 2);
      const gy = pairFrom(be, contiguousLayout([g.N, g.O, Ho, Wo]), 3);
      const bias = pairFrom(be, contiguousLayout([g.O]), 4);
      for (const act of ['none', 'relu', 'gelu'] as const) await checkConv(be, g, x, w, gy, bias, act, name);
      releasePair(be, x, w, gy, bias);
    });

    it('conv2d with an empty batch', async () => {
      const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
      const x = pairFrom(be, contiguousLayout([0, 3, 5, 5]), 1);
      const w = pairFrom(be, contiguousLayout([4, 3, 3, 3]), 2);
      const gy = pairFrom(be, contiguousLayout([0, 4, 5, 5]), 3);
      expect(be.conv2d(x.gpu, w.gpu, p).size).toBe(0);
      expect(be.conv2dBackwardInput(gy.gpu, w.gpu, p, [0, 3, 5, 5]).size).toBe(0);
      await compareStorages(be, be.conv2dBackwardWeight(x.gpu, gy.gpu, p, [4, 3, 3, 3]), cpuBackend.conv2dBackwardWeight(x.cpu, gy.cpu, p, [4, 3, 3, 3]), [4, 3, 3, 3], { rtol: 0, atol: 0 }, 'empty batch weight gradient');
      releasePair(be, x, w, gy);
    });

    it('frees everything but the GEMM scratch: bytes in use return to where they started', async () => {
      const before = be.stats().bytesInUse;
      const a = pairFrom(be, planLayout([2, 37, 300], { steps: [1, 2, 1], flips: [false, true, false], bcast: [false, false, false], perm: [0, 2, 1], offset: 3 }), 9);
      const b = pairFrom(be, contiguousLayout([2, 300, 19]), 10);
      const out = be.matmul(a.gpu, b.gpu, { bias: null, activation: 'gelu' });
      be.release(out);
      releasePair(be, a, b);
      expect(be.stats().bytesInUse).toBe(before);
    });
  });
}
