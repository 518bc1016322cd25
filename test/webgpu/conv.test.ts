// conv2d forward / backward-input / backward-weight and max pooling of the WebGPU backend against the CPU.
import fc from 'fast-check';
import { afterAll, beforeAll, it } from 'vitest';
import { setConvStrategy, setConvTile } from '../../kernels/webgpu/conv';
import type { ConvStrategy, ConvTile } from '../../kernels/webgpu/conv';
import type { Backend, Conv2dParams, EpilogueActivation, Pool2dParams, Storage, View } from '../../core/backend';
import { describeGpu, useGpuTeardown } from './setup';
import { FC, arbPlan, compareStorages, contiguousLayout, cpuBackend, expectClose, makePair, pairFrom, planLayout, readStorage, releasePair } from './helpers';
import type { Pair } from './helpers';
import { EXACT, epilogueTol, sumTol } from '../tolerances';

useGpuTeardown();

const outSize = (n: number, k: number, s: number, p: number, d: number): number => Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;

interface Geo {
  N: number; C: number; O: number; H: number; W: number; kh: number; kw: number; p: Conv2dParams;
}

const arbGeo: fc.Arbitrary<Geo> = fc
  .record({
    N: fc.integer({ min: 1, max: 2 }),
    Cg: fc.integer({ min: 1, max: 6 }),
    Og: fc.integer({ min: 1, max: 9 }),
    groups: fc.constantFrom(1, 1, 1, 2, 3),
    H: fc.integer({ min: 1, max: 11 }),
    W: fc.integer({ min: 1, max: 11 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
  })
  .filter((g) => outSize(g.H, g.kh, g.sh, g.ph, g.dh) >= 1 && outSize(g.W, g.kw, g.sw, g.pw, g.dw) >= 1)
  .map((g) => ({
    N: g.N, C: g.Cg * g.groups, O: g.Og * g.groups, H: g.H, W: g.W, kh: g.kh, kw: g.kw,
    p: { stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], groups: g.groups } as Conv2dParams,
  }));

function absView(v: View): View {
  const s = cpuBackend.unary('abs', v);
  return { storage: s, shape: v.shape, strides: contiguousLayout([...v.shape]).strides, offset: 0, dtype: 'float32' };
}

async function scaleOf(s: Storage, shape: number[]): Promise<number[]> {
  return Array.from(await readStorage(cpuBackend, s, shape));
}

async function checkAll(gpu: Backend, g: Geo, x: Pair, w: Pair, gy: Pair, label: string): Promise<void> {
  const { N, C, O, H, W, kh, kw, p } = g;
  const Ho = outSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = outSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const Cg = C / p.groups;
  const Og = O / p.groups;
  // forward
  const yScale = await scaleOf(cpuBackend.conv2d(absView(x.cpu), absView(w.cpu), p), [N, O, Ho, Wo]);
  await compareStorages(gpu, gpu.conv2d(x.gpu, w.gpu, p), cpuBackend.conv2d(x.cpu, w.cpu, p), [N, O, Ho, Wo], { rtol: sumTol(Cg * kh * kw), atol: 0 }, `conv2d ${label}`, yScale);
  // input gradient
  const gxScale = await scaleOf(cpuBackend.conv2dBackwardInput(absView(gy.cpu), absView(w.cpu), p, [N, C, H, W]), [N, C, H, W]);
  await compareStorages(gpu, gpu.conv2dBackwardInput(gy.gpu, w.gpu, p, [N, C, H, W]), cpuBackend.conv2dBackwardInput(gy.cpu, w.cpu, p, [N, C, H, W]), [N, C, H, W], { rtol: sumTol(Og * kh * kw), atol: 0 }, `conv2dBackwardInput ${label}`, gxScale);
  // weight gradient
  const wShape = [O, Cg, kh, kw];
  const gwScale = await scaleOf(cpuBackend.conv2dBackwardWeight(absView(x.cpu), absView(gy.cpu), p, wShape), wShape);
  await compareStorages(gpu, gpu.conv2dBackwardWeight(x.gpu, gy.gpu, p, wShape), cpuBackend.conv2dBackwardWeight(x.cpu, gy.cpu, p, wShape), wShape, { rtol: sumTol(N * Ho * Wo), atol: 0 }, `conv2dBackwardWeight ${label}`, gwScale);
}

/** Forward with a fused epilogue act(conv + bias[o]) against the CPU backend's epilogue. */
async function checkEpilogue(gpu: Backend, g: Geo, x: Pair, w: Pair, bias: Pair | null, act: EpilogueActivation, label: string): Promise<void> {
  const { N, O, H, W, kh, kw, p } = g;
  const Ho = outSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = outSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]);
  const shape = [N, O, Ho, Wo];
  // Σ|terms| = |x| ⋆ |w| + |bias|
  const scale = await scaleOf(cpuBackend.conv2d(absView(x.cpu), absView(w.cpu), p, { bias: bias && absView(bias.cpu) }), shape);
  const got = await readStorage(gpu, gpu.conv2d(x.gpu, w.gpu, p, { bias: bias?.gpu, activation: act }), shape);
  const want = await readStorage(cpuBackend, cpuBackend.conv2d(x.cpu, w.cpu, p, { bias: bias?.cpu, activation: act }), shape);
  const t = epilogueTol((g.C / p.groups) * kh * kw, act, scale, want);
  expectClose(got, want, t.tol, `conv2d epilogue ${act} bias ${bias !== null} ${label}`, t.scale);
}

const CONFIGS: [string, ConvStrategy | null, ConvTile | null][] = [
  ['default strategy', null, null],
  ['im2col', 'im2col', null],
  ['implicit, CPU-adapter tile', 'implicit', { tm: 16, tn: 8, wgX: 4, wgY: 4 }],
  ['implicit, GPU tile', 'implicit', { tm: 8, tn: 4, wgX: 8, wgY: 8 }],
];

for (const [name, strategy, tile] of CONFIGS) describeGpu(`WebGPU conv2d (${name})`, (gpu) => {
  beforeAll(() => {
    setConvStrategy(strategy);
    setConvTile(tile);
  });
  afterAll(() => {
    setConvStrategy(null);
    setConvTile(null);
  });

  it('random geometries (stride, padding, dilation, groups) and strided x / w / gy, all three directions', async () => {
    await fc.assert(
      fc.asyncProperty(arbGeo.chain((g) => fc.tuple(fc.constant(g), arbPlan(4), arbPlan(4), arbPlan(4))), fc.integer(), async ([g, px, pgy, pw], seed) => {
        const Ho = outSize(g.H, g.kh, g.p.stride[0], g.p.padding[0], g.p.dilation[0]);
        const Wo = outSize(g.W, g.kw, g.p.stride[1], g.p.padding[1], g.p.dilation[1]);
        const x = pairFrom(gpu, planLayout([g.N, g.C, g.H, g.W], px), seed);
        const w = pairFrom(gpu, planLayout([g.O, g.C / g.p.groups, g.kh, g.kw], pw), seed + 1);
        const gy = pairFrom(gpu, planLayout([g.N, g.O, Ho, Wo], pgy), seed + 2);
        await checkAll(gpu, g, x, w, gy, JSON.stringify(g));
        releasePair(gpu, x, w, gy);
      }),
      { ...FC, numRuns: 15 },
    );
  });

  it('fused epilogue (bias by output channel, relu / gelu): random geometries and layouts', async () => {
    const acts = fc.constantFrom<EpilogueActivation>('none', 'relu', 'gelu');
    await fc.assert(
      fc.asyncProperty(arbGeo.chain((g) => fc.tuple(fc.constant(g), arbPlan(4), arbPlan(4), arbPlan(1))), acts, fc.boolean(), fc.integer(),
        async ([g, px, pw, pb], act, withBias, seed) => {
          const x = pairFrom(gpu, planLayout([g.N, g.C, g.H, g.W], px), seed);
          const w = pairFrom(gpu, planLayout([g.O, g.C / g.p.groups, g.kh, g.kw], pw), seed + 1);
          const bias = withBias || act === 'none' ? pairFrom(gpu, planLayout([g.O], pb), seed + 2) : null;
          await checkEpilogue(gpu, g, x, w, bias, act, JSON.stringify([g, bias?.layout]));
          releasePair(gpu, x, w, ...(bias ? [bias] : []));
        }),
      { ...FC, numRuns: 15 },
    );
  });

  it.each([
    ['3×3, O = 72 (two row tiles), vec4 rows', { N: 2, C: 8, O: 72, H: 9, W: 7, kh: 3, kw: 3, p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } }],
    ['1×1 pointwise (matmul path)', { N: 2, C: 12, O: 20, H: 7, W: 9, kh: 1, kw: 1, p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
    ['grouped 3×3 stride 2', { N: 2, C: 6, O: 9, H: 11, W: 10, kh: 3, kw: 3, p: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 3 } }],
  ] as [string, Geo][])('fused epilogue, every activation: %s', async (name, g) => {
    const x = pairFrom(gpu, contiguousLayout([g.N, g.C, g.H, g.W]), 1);
    const w = pairFrom(gpu, contiguousLayout([g.O, g.C / g.p.groups, g.kh, g.kw]), 2);
    const bias = pairFrom(gpu, contiguousLayout([g.O], 1), 3);
    for (const act of ['none', 'relu', 'gelu'] as const) await checkEpilogue(gpu, g, x, w, bias, act, name);
    await checkEpilogue(gpu, g, x, w, null, 'gelu', name);
    releasePair(gpu, x, w, bias);
  });

  it.each([
    ['ResNet 3×3 block conv (small)', { N: 1, C: 16, O: 16, H: 14, W: 14, kh: 3, kw: 3, p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } }],
    ['7×7/2 stem', { N: 1, C: 3, O: 8, H: 32, W: 32, kh: 7, kw: 7, p: { stride: [2, 2], padding: [3, 3], dilation: [1, 1], groups: 1 } }],
    ['1×1 pointwise (matmul path)', { N: 2, C: 12, O: 20, H: 7, W: 9, kh: 1, kw: 1, p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
    ['1×1 pointwise, N = 1', { N: 1, C: 8, O: 16, H: 5, W: 5, kh: 1, kw: 1, p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
    ['1×1 stride 2 (downsample)', { N: 1, C: 8, O: 16, H: 9, W: 9, kh: 1, kw: 1, p: { stride: [2, 2], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
    ['depthwise 3×3', { N: 1, C: 8, O: 8, H: 9, W: 9, kh: 3, kw: 3, p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 8 } }],
    ['ViT patch embedding 16×16/16', { N: 1, C: 3, O: 12, H: 32, W: 48, kh: 16, kw: 16, p: { stride: [16, 16], padding: [0, 0], dilation: [1, 1], groups: 1 } }],
    ['O = 72 (two row tiles)', { N: 1, C: 4, O: 72, H: 6, W: 6, kh: 3, kw: 3, p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } }],
  ] as [string, Geo][])('%s', async (name, g) => {
    const Ho = outSize(g.H, g.kh, g.p.stride[0], g.p.padding[0], g.p.dilation[0]);
    const Wo = outSize(g.W, g.kw, g.p.stride[1], g.p.padding[1], g.p.dilation[1]);
    const x = pairFrom(gpu, contiguousLayout([g.N, g.C, g.H, g.W]), 1);
    const w = pairFrom(gpu, contiguousLayout([g.O, g.C / g.p.groups, g.kh, g.kw]), 2);
    const gy = pairFrom(gpu, contiguousLayout([g.N, g.O, Ho, Wo]), 3);
    await checkAll(gpu, g, x, w, gy, name);
    releasePair(gpu, x, w, gy);
  });
});

const arbPool = fc
  .record({
    N: fc.integer({ min: 1, max: 2 }),
    C: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 1, max: 12 }),
    W: fc.integer({ min: 1, max: 12 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 2 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    ceil: fc.boolean(),
  })
  .filter((g) => 2 * g.ph <= g.kh && 2 * g.pw <= g.kw && outSize(g.H, g.kh, g.sh, g.ph, g.dh) >= 1 && outSize(g.W, g.kw, g.sw, g.pw, g.dw) >= 1);

describeGpu('WebGPU maxPool2d', (gpu) => {
  it('values, indices and backward match torch conventions (ceilMode, padding, dilation, ties, NaN)', async () => {
    await fc.assert(
      fc.asyncProperty(arbPool.chain((g) => fc.tuple(fc.constant(g), arbPlan(4))), fc.integer(), fc.boolean(), async ([g, plan], seed, nan) => {
        const p: Pool2dParams = { kernelSize: [g.kh, g.kw], stride: [g.sh, g.sw], padding: [g.ph, g.pw], dilation: [g.dh, g.dw], ceilMode: g.ceil };
        const layout = planLayout([g.N, g.C, g.H, g.W], plan);
        const x0 = pairFrom(gpu, layout, seed);
        x0.data.forEach((v, i, a) => (a[i] = nan && v > 2.5 ? NaN : Math.round(v))); // ties and NaNs
        const x = makePair(gpu, layout, x0.data);
        const Ho = poolOut(g.H, g.kh, g.sh, g.ph, g.dh, g.ceil);
        const Wo = poolOut(g.W, g.kw, g.sw, g.pw, g.dw, g.ceil);
        const outShape = [g.N, g.C, Ho, Wo];
        const want = cpuBackend.maxPool2d(x.cpu, p);
        const got = gpu.maxPool2d(x.gpu, p);
        await compareStorages(gpu, got.values, want.values, outShape, EXACT, `maxPool2d values ${JSON.stringify(g)}`);
        const gotIdx = await readStorage(gpu, got.indices, outShape);
        const wantIdx = await readStorage(cpuBackend, want.indices, outShape);
        expectClose(gotIdx, wantIdx, EXACT, `maxPool2d indices ${JSON.stringify(g)}`);
        // backward from the (identical) recorded indices; overlapping windows sum in any order
        const gy = pairFrom(gpu, planLayout(outShape, plan), seed + 7);
        const idxView = (s: Storage): View => ({ storage: s, shape: outShape, strides: contiguousLayout(outShape).strides, offset: 0, dtype: 'int32' });
        const absGy = cpuBackend.unary('abs', gy.cpu);
        const scale = await readStorage(cpuBackend, cpuBackend.maxPool2dBackward({ ...idxView(absGy), dtype: 'float32' }, idxView(want.indices), [g.N, g.C, g.H, g.W]), [g.N, g.C, g.H, g.W]);
        await compareStorages(
          gpu,
          gpu.maxPool2dBackward(gy.gpu, idxView(got.indices), [g.N, g.C, g.H, g.W]),
          cpuBackend.maxPool2dBackward(gy.cpu, idxView(want.indices), [g.N, g.C, g.H, g.W]),
          [g.N, g.C, g.H, g.W], { rtol: 4 * 2 ** -24, atol: 0 }, `maxPool2dBackward ${JSON.stringify(g)}`, scale,
        );
        gpu.release(got.indices);
        releasePair(gpu, x0, x, gy);
      }),
      { ...FC, numRuns: 30 },
    );
  });
});

function poolOut(size: number, k: number, s: number, pad: number, d: number, ceil: boolean): number {
  const span = size + 2 * pad - d * (k - 1) - 1;
  let out = Math.floor((ceil ? span + s - 1 : span) / s) + 1;
  if (ceil && (out - 1) * s >= size + pad) out--;
  return out;
}
