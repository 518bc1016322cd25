// The CPU backend's fused matmul / conv2d epilogue (bias + activation at the write-out) equals the unfused
// composition — the plain kernel, binary 'add' with the broadcast bias, then unary 'relu' / 'gelu' — exactly,
// in float32 and float64. And the front end's fused bias (conv2d, linear) keeps the values and gradients of
// the broadcast add it replaces.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend, Conv2dParams, EpilogueActivation, Storage, View } from '../../core/backend';
import type { DType, TypedArray } from '../../core/dtype';
import { cpuBackend } from '../../kernels/cpu/backend';
import { contiguousStrides } from '../../core/shape';
import * as F from '../../index';
import type { Tensor } from '../../index';

const FC = { numRuns: 60, seed: 4321 };
const ACTS: EpilogueActivation[] = ['none', 'relu', 'gelu'];
const b: Backend = cpuBackend;

/** Deterministic data in [-3, 3) with some exact zeros (relu's edge) — mulberry32. */
function data(n: number, seed: number, dtype: DType): TypedArray {
  let s = seed >>> 0;
  const a = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    a[i] = u < 0.05 ? 0 : -3 + 6 * u;
  }
  return a;
}

function view(storage: Storage, shape: number[], strides = contiguousStrides(shape), offset = 0): View {
  return { storage, shape, strides, offset, dtype: storage.dtype };
}

/** A contiguous view, or (strided) every other element of a larger storage, read backwards. */
function input(shape: number[], seed: number, dtype: DType, strided: boolean): View {
  const n = shape.reduce((p, d) => p * d, 1);
  if (!strided) return view(b.upload(data(n, seed, dtype)), shape);
  const s = b.upload(data(2 * n + 1, seed, dtype));
  const strides = contiguousStrides(shape).map((st) => -2 * st);
  return view(s, shape, strides, 2 * (n - 1) + 1);
}

/** act(y + bias broadcast along `axis` of `shape`) with the unfused kernels. */
function unfused(y: Storage, shape: number[], bias: View | null, axis: number, act: EpilogueActivation): Storage {
  let out = y;
  if (bias) {
    const strides = shape.map((_, i) => (i === axis ? bias.strides[0] : 0));
    out = b.binary('add', view(y, shape), { ...bias, shape, strides });
  }
  return act === 'none' ? out : b.unary(act, view(out, shape));
}

async function expectSame(got: Storage, want: Storage, shape: number[], label: string): Promise<void> {
  const g = await b.read(view(got, shape));
  const w = await b.read(view(want, shape));
  expect(got.dtype, label).toBe(want.dtype);
  // bit for bit (Object.is also tells -0 from 0 and matches NaN)
  const bad = Array.from(w).findIndex((v, i) => !Object.is(v, g[i]));
  expect(bad, `${label}: first mismatch at ${bad}: fused ${g[bad]} unfused ${w[bad]}`).toBe(-1);
}

describe('CPU backend fused epilogue equals the unfused composition exactly', () => {
  it('matmul [B, M, K]·[B, K, N] + bias[N], then relu / gelu', async () => {
    const arb = fc.record({
      B: fc.integer({ min: 1, max: 3 }), M: fc.integer({ min: 1, max: 20 }), K: fc.integer({ min: 0, max: 20 }), N: fc.integer({ min: 1, max: 20 }),
      act: fc.constantFrom(...ACTS), withBias: fc.boolean(), strided: fc.boolean(), dtype: fc.constantFrom<DType>('float32', 'float64'), seed: fc.integer(),
    });
    await fc.assert(fc.asyncProperty(arb, async ({ B, M, K, N, act, withBias, strided, dtype, seed }) => {
      const a = input([B, M, K], seed, dtype, strided);
      const w = input([B, K, N], seed + 1, dtype, false);
      const bias = withBias ? input([N], seed + 2, dtype, strided) : null;
      const fused = b.matmul(a, w, { bias, activation: act });
      const ref = unfused(b.matmul(a, w), [B, M, N], bias, 2, act);
      await expectSame(fused, ref, [B, M, N], `matmul ${JSON.stringify({ B, M, K, N, act, withBias, strided, dtype })}`);
    }), FC);
  });

  it('matmul with a large product (the packed and threaded gemm paths)', async () => {
    const [B, M, K, N] = [2, 70, 130, 120];
    const a = input([B, M, K], 1, 'float32', false);
    const w = input([B, K, N], 2, 'float32', false);
    const bias = input([N], 3, 'float32', false);
    for (const act of ACTS) {
      await expectSame(b.matmul(a, w, { bias, activation: act }), unfused(b.matmul(a, w), [B, M, N], bias, 2, act), [B, M, N], `matmul large ${act}`);
    }
  });

  it('conv2d [N, C, H, W] ⋆ w + bias[O] (by channel), then relu / gelu', async () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }), Cg: fc.integer({ min: 1, max: 4 }), Og: fc.integer({ min: 1, max: 5 }), groups: fc.constantFrom(1, 1, 2, 3),
      H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
      s: fc.integer({ min: 1, max: 2 }), pad: fc.integer({ min: 0, max: 1 }), d: fc.integer({ min: 1, max: 2 }),
      act: fc.constantFrom(...ACTS), withBias: fc.boolean(), strided: fc.boolean(), dtype: fc.constantFrom<DType>('float32', 'float64'), seed: fc.integer(),
    }).filter((g) => g.H + 2 * g.pad >= g.d * (g.kh - 1) + 1 && g.W + 2 * g.pad >= g.d * (g.kw - 1) + 1);
    await fc.assert(fc.asyncProperty(arb, async (g) => {
      const p: Conv2dParams = { stride: [g.s, g.s], padding: [g.pad, g.pad], dilation: [g.d, g.d], groups: g.groups };
      const C = g.Cg * g.groups;
      const O = g.Og * g.groups;
      const Ho = Math.floor((g.H + 2 * g.pad - g.d * (g.kh - 1) - 1) / g.s) + 1;
      const Wo = Math.floor((g.W + 2 * g.pad - g.d * (g.kw - 1) - 1) / g.s) + 1;
      const x = input([g.N, C, g.H, g.W], g.seed, g.dtype, g.strided);
      const w = input([O, g.Cg, g.kh, g.kw], g.seed + 1, g.dtype, false);
      const bias = g.withBias ? input([O], g.seed + 2, g.dtype, g.strided) : null;
      const shape = [g.N, O, Ho, Wo];
      const fused = b.conv2d(x, w, p, { bias, activation: g.act });
      await expectSame(fused, unfused(b.conv2d(x, w, p), shape, bias, 1, g.act), shape, `conv2d ${JSON.stringify(g)}`);
    }), FC);
  });

  it('rejects a bias of the wrong length or dtype', () => {
    const a = input([1, 2, 3], 1, 'float32', false);
    const w = input([1, 3, 4], 2, 'float32', false);
    expect(() => b.matmul(a, w, { bias: input([3], 3, 'float32', false) })).toThrow(/bias/);
    expect(() => b.matmul(a, w, { bias: input([4], 3, 'float64', false) })).toThrow(/bias/);
  });
});

describe('front end: the fused bias keeps the broadcast add’s values and gradients', () => {
  const leaf = (shape: number[], seed: number, dtype: DType): Tensor => F.tensor(data(shape.reduce((p, d) => p * d, 1), seed, dtype), shape, { dtype, requiresGrad: true });

  async function same(a: Tensor | null, c: Tensor | null, label: string): Promise<void> {
    expect(a && Array.from(await a.data()), label).toEqual(c && Array.from(await c.data()));
  }

  it.each(['float32', 'float64'] as DType[])('conv2d (groups, stride, padding "same" with an even kernel) %s', async (dtype) => {
    const x = leaf([2, 4, 7, 6], 1, dtype);
    const w = leaf([6, 2, 2, 3], 2, dtype);
    const bias = leaf([6], 3, dtype);
    for (const opts of [{ groups: 2, stride: 2, padding: 1 }, { groups: 2, padding: 'same' as const }]) {
      const y = F.conv2d(x, w, bias, opts);
      const ref = F.add(F.conv2d(x, w, null, opts), F.reshape(bias, [1, 6, 1, 1]));
      await same(y, ref, 'forward');
      const gy = F.tensor(data(y.shape.reduce((p, d) => p * d, 1), 4, dtype), y.shape, { dtype });
      const g1 = F.grad(y, [x, w, bias], { gradOutputs: [gy] });
      const g2 = F.grad(ref, [x, w, bias], { gradOutputs: [gy] });
      for (let i = 0; i < 3; i++) await same(g1[i], g2[i], `grad ${i} ${JSON.stringify(opts)}`);
    }
  });

  it.each(['float32', 'float64'] as DType[])('linear over leading dims %s', async (dtype) => {
    const x = leaf([2, 3, 5], 5, dtype);
    const w = leaf([7, 5], 6, dtype);
    const bias = leaf([7], 7, dtype);
    const y = F.linear(x, w, bias);
    const ref = F.add(F.linear(x, w), bias);
    await same(y, ref, 'forward');
    const gy = F.tensor(data(2 * 3 * 7, 8, dtype), [2, 3, 7], { dtype });
    const g1 = F.grad(y, [x, w, bias], { gradOutputs: [gy] });
    const g2 = F.grad(ref, [x, w, bias], { gradOutputs: [gy] });
    for (let i = 0; i < 3; i++) await same(g1[i], g2[i], `grad ${i}`);
  });
});
