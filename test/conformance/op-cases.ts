// The cross-backend op suite, shared by every backend's entry file (ops.test.ts: WebGPU, ops-wasm.test.ts:
// wasm): every front-end op runs on the CPU reference backend and on the backend under test with the same
// inputs (random shapes from fast-check: odd sizes, broadcasting, non-contiguous views), and the outputs and
// the gradients w.r.t. every input must agree within TOL.crossBackend.
import { expect, test } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

export type Dev = 'cpu' | 'webgpu' | 'wasm';
interface InputSpec {
  shape: number[];
  /** Values: 'normal' (default), 'positive' (for log/sqrt), or int32 indices below `high`. */
  kind?: 'normal' | 'positive' | 'index';
  high?: number;
  /** Feed a transposed (non-contiguous) view of the same values. */
  transposed?: boolean;
  grad?: boolean;
  /** Op parameters drawn with the shapes (e.g. conv stride), read by the case's fn. */
  params?: Record<string, number>;
}

function values(spec: InputSpec, rng: ReturnType<typeof F.makeRng>): Float32Array | Int32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.kind === 'index') return Int32Array.from({ length: n }, () => rng.int(spec.high!));
  return Float32Array.from({ length: n }, () => (spec.kind === 'positive' ? 0.2 + 2 * rng.uniform() : rng.normal()));
}

function makeInput(spec: InputSpec, data: Float32Array | Int32Array, device: Dev): F.Tensor {
  const isIndex = spec.kind === 'index';
  if (spec.transposed && spec.shape.length >= 2) {
    // store the values of the transposed tensor, then transpose back: same values, swapped strides
    const s = spec.shape;
    const r = s.length;
    const tShape = [...s.slice(0, r - 2), s[r - 1], s[r - 2]];
    const base = F.tensor(data, s, { device: 'cpu', dtype: isIndex ? 'int32' : 'float32' });
    const tData = F.transpose(base, -1, -2).contiguous();
    const stored = F.tensor(readCpu(tData), tShape, { device, dtype: isIndex ? 'int32' : 'float32' });
    const view = F.transpose(stored, -1, -2);
    if (spec.grad !== false && !isIndex) view.requiresGrad_(); // non-leaf would need a leaf: use stored
    return view;
  }
  const t = F.tensor(data, spec.shape, { device, dtype: isIndex ? 'int32' : 'float32' });
  if (spec.grad !== false && !isIndex) t.requiresGrad_();
  return t;
}

function readCpu(t: F.Tensor): Float32Array | Int32Array {
  const s = t.contiguous().storage as unknown as { data: Float32Array | Int32Array };
  return s.data;
}

interface Case {
  name: string;
  inputs: fc.Arbitrary<InputSpec[]>;
  fn: (xs: F.Tensor[], specs: InputSpec[]) => F.Tensor;
  runs?: number;
}

async function runOn(device: Dev, specs: InputSpec[], datas: (Float32Array | Int32Array)[], fn: Case['fn'], seed: number) {
  const xs = specs.map((s, i) => makeInput(s, datas[i], device));
  const y = fn(xs, specs);
  const out = await y.data();
  const diff = xs.map((x, i) => (specs[i].kind !== 'index' && specs[i].grad !== false && x.requiresGrad ? x : null));
  const wanted = diff.filter((x): x is F.Tensor => x !== null);
  let grads: Float32Array[] = [];
  if (wanted.length && y.requiresGrad && y.dtype !== 'int32') {
    const rng = F.makeRng(seed);
    const gy = F.tensor(Float32Array.from({ length: y.size }, () => rng.normal()), y.shape, { device });
    const gs = F.grad(y, wanted, { gradOutputs: [gy], allowUnused: true });
    grads = await Promise.all(gs.map(async (g, i) => (g ? ((await g.data()) as Float32Array) : new Float32Array(wanted[i].size))));
  }
  return { out, grads, shape: y.shape };
}

const dim = (lo = 1, hi = 6) => fc.integer({ min: lo, max: hi });
const shapeOf = (rank: number, lo = 1, hi = 6) => fc.array(dim(lo, hi), { minLength: rank, maxLength: rank });
const one = (shape: fc.Arbitrary<number[]>, extra: Partial<InputSpec> = {}) => shape.map((s) => [{ shape: s, ...extra }]);

/** Two shapes that broadcast: b drops leading dims and sets some dims to 1. */
const broadcastPair = fc.tuple(shapeOf(3), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 2 })).map(([s, ones, drop]) => [
  { shape: s },
  { shape: s.map((d, i) => (ones[i] ? 1 : d)).slice(drop) },
]);

const unaryOps: [string, (x: F.Tensor) => F.Tensor, InputSpec['kind']?][] = [
  ['neg', F.neg], ['exp', F.exp], ['log', F.log, 'positive'], ['sqrt', F.sqrt, 'positive'], ['rsqrt', F.rsqrt, 'positive'],
  ['abs', F.abs], ['relu', F.relu], ['sigmoid', F.sigmoid], ['tanh', F.tanh], ['erf', F.erf], ['square', F.square],
  ['reciprocal', F.reciprocal, 'positive'], ['gelu', (x) => F.gelu(x)], ['geluTanh', (x) => F.gelu(x, { approximate: 'tanh' })],
  ['silu', F.silu], ['sin', F.sin], ['cos', F.cos],
];

const cases: Case[] = [
  ...unaryOps.map(([name, f, kind]): Case => ({ name, inputs: one(shapeOf(2), { kind, transposed: true }), fn: ([x]) => f(x) })),
  { name: 'add (broadcast)', inputs: broadcastPair, fn: ([a, b]) => F.add(a, b) },
  { name: 'sub (broadcast)', inputs: broadcastPair, fn: ([a, b]) => F.sub(a, b) },
  { name: 'mul (broadcast)', inputs: broadcastPair, fn: ([a, b]) => F.mul(a, b) },
  { name: 'div (broadcast)', inputs: broadcastPair.map(([a, b]) => [a, { ...b, kind: 'positive' as const }]), fn: ([a, b]) => F.div(a, b) },
  { name: 'pow (positive base)', inputs: broadcastPair.map(([a, b]) => [{ ...a, kind: 'positive' as const }, b]), fn: ([a, b]) => F.pow(a, b) },
  { name: 'maximum / minimum', inputs: broadcastPair, fn: ([a, b]) => F.add(F.maximum(a, b), F.minimum(a, b)) },
  { name: 'where + compare', inputs: broadcastPair, fn: ([a, b]) => F.where(F.gt(a, b), a, F.mul(b, 2)) },
  { name: 'clamp', inputs: one(shapeOf(3)), fn: ([x]) => F.clamp(x, -0.5, 0.7) },
  { name: 'scalar ops', inputs: one(shapeOf(2), { transposed: true }), fn: ([x]) => F.sub(F.div(F.mul(F.add(x, 1.5), 3), 2), 0.25) },
  { name: 'sum over dims', inputs: one(shapeOf(3)), fn: ([x]) => F.sum(x, [0, 2]) },
  { name: 'mean keepDim', inputs: one(shapeOf(3), { transposed: true }), fn: ([x]) => F.mean(x, -1, true) },
  { name: 'amax / amin', inputs: one(shapeOf(3)), fn: ([x]) => F.add(F.amax(x, 1), F.amin(x, 1)) },
  { name: 'max with dim (values)', inputs: one(shapeOf(3)), fn: ([x]) => F.max(x, 1).values },
  { name: 'argmax', inputs: one(shapeOf(3), { grad: false }), fn: ([x]) => F.argmax(x, 2) },
  { name: 'var / std', inputs: one(shapeOf(2, 2, 6)), fn: ([x]) => F.add(F.variance(x, 1), F.std(x, 0).sum()) },
  { name: 'logsumexp', inputs: one(shapeOf(2)), fn: ([x]) => F.logsumexp(x, 1) },
  {
    name: 'matmul (batched broadcast)',
    inputs: fc.tuple(dim(1, 3), dim(1, 7), dim(1, 9), dim(1, 7)).map(([b, m, k, n]) => [{ shape: [b, m, k] }, { shape: [k, n], transposed: true }]),
    fn: ([a, b]) => F.matmul(a, b),
  },
  {
    name: 'linear',
    inputs: fc.tuple(dim(1, 5), dim(1, 9), dim(1, 7)).map(([n, i, o]) => [{ shape: [n, i] }, { shape: [o, i] }, { shape: [o] }]),
    fn: ([x, w, b]) => F.linear(x, w, b),
  },
  {
    name: 'conv2d (stride, padding, dilation, groups)',
    inputs: fc.record({ n: dim(1, 2), g: dim(1, 2), cg: dim(1, 3), og: dim(1, 3), h: dim(5, 9), w: dim(5, 9), k: dim(1, 3), s: dim(1, 2), p: fc.integer({ min: 0, max: 1 }), d: dim(1, 2) })
      .map((r) => [{ shape: [r.n, r.g * r.cg, r.h, r.w], params: { s: r.s, p: r.p, d: r.d, g: r.g } }, { shape: [r.g * r.og, r.cg, r.k, r.k] }, { shape: [r.g * r.og] }]),
    fn: ([x, w, b], [spec]) => F.conv2d(x, w, b, { stride: spec.params!.s, padding: spec.params!.p, dilation: spec.params!.d, groups: spec.params!.g }),
  },
  {
    name: 'maxPool2d',
    inputs: fc.tuple(dim(1, 2), dim(1, 3), dim(4, 9), dim(4, 9)).map(([n, c, h, w]) => [{ shape: [n, c, h, w] }]),
    fn: ([x]) => F.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }) as F.Tensor,
  },
  { name: 'avgPool2d', inputs: one(fc.tuple(dim(1, 2), dim(1, 3), dim(4, 9), dim(4, 9))), fn: ([x]) => F.avgPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true }) },
  { name: 'adaptiveAvgPool2d', inputs: one(fc.tuple(dim(1, 2), dim(1, 3), dim(3, 9), dim(3, 9))), fn: ([x]) => F.adaptiveAvgPool2d(x, [2, 3]) },
  { name: 'interpolate bilinear', inputs: one(fc.tuple(dim(1, 2), dim(1, 2), dim(2, 6), dim(2, 6))), fn: ([x]) => F.interpolate(x, { size: [7, 5], mode: 'bilinear', alignCorners: false }) },
  { name: 'interpolate bicubic antialias', inputs: one(fc.tuple(dim(1, 2), dim(1, 2), dim(4, 8), dim(4, 8))), fn: ([x]) => F.interpolate(x, { scaleFactor: [0.6, 1.3], mode: 'bicubic', antialias: true }) },
  { name: 'softmax', inputs: one(shapeOf(3), { transposed: true }), fn: ([x]) => F.softmax(x, 1) },
  { name: 'logSoftmax', inputs: one(shapeOf(2)), fn: ([x]) => F.logSoftmax(x, -1) },
  {
    name: 'layerNorm',
    inputs: fc.tuple(dim(1, 4), dim(2, 9)).map(([n, c]) => [{ shape: [n, c] }, { shape: [c] }, { shape: [c] }]),
    fn: ([x, w, b]) => F.layerNorm(x, [x.shape[1]], w, b, 1e-5),
  },
  {
    name: 'batchNorm (training)',
    inputs: fc.tuple(dim(2, 3), dim(1, 3), dim(2, 4), dim(2, 4)).map(([n, c, h, w]) => [{ shape: [n, c, h, w] }, { shape: [c] }, { shape: [c] }]),
    fn: ([x, w, b]) => F.batchNorm(x, F.zeros([x.shape[1]], { device: x.device }), F.ones([x.shape[1]], { device: x.device }), w, b, { training: true }),
  },
  {
    name: 'crossEntropy',
    inputs: fc.tuple(dim(1, 5), dim(2, 6)).map(([n, c]) => [{ shape: [n, c] }, { shape: [n], kind: 'index' as const, high: c }]),
    fn: ([x, t]) => F.crossEntropy(x, t, { labelSmoothing: 0.1 }),
  },
  {
    name: 'gather / indexSelect',
    inputs: fc.tuple(dim(1, 4), dim(2, 6), dim(1, 5)).map(([n, c, k]) => [{ shape: [n, c] }, { shape: [n, k], kind: 'index' as const, high: c }, { shape: [k], kind: 'index' as const, high: n }]),
    fn: ([x, i, j]) => F.add(F.gather(x, 1, i).sum(), F.indexSelect(x, 0, j).sum()),
  },
  {
    name: 'concat / stack / pad',
    inputs: fc.tuple(dim(1, 3), dim(1, 4)).map(([a, b]) => [{ shape: [a, b] }, { shape: [a, b], transposed: true }]),
    fn: ([x, y]) => F.add(F.concat([x, y], 1).sum(1), F.pad(F.stack([x, y], 0), [1, 2]).sum([0, 2])),
  },
  {
    name: 'scaledDotProductAttention (causal)',
    inputs: fc.tuple(dim(1, 2), dim(1, 5), dim(1, 4)).map(([b, t, e]) => [{ shape: [b, t, e] }, { shape: [b, t, e] }, { shape: [b, t, e] }]),
    fn: ([q, k, v]) => F.scaledDotProductAttention(q, k, v, { isCausal: true }),
  },
  {
    name: 'views: permute / slice / flip / reshape',
    inputs: one(shapeOf(3, 2, 6)),
    fn: ([x]) => F.reshape(F.flip(F.slice(F.permute(x, [2, 0, 1]), 1, 0, null, 2), [0, 2]).contiguous(), [-1]),
  },
];

/** Defines one test per case inside the caller's describe block: `device` against the CPU backend. */
export function defineOpConformance(device: Exclude<Dev, 'cpu'>): void {
  for (const c of cases) {
    test(c.name, async () => {
      let seed = 1;
      await fc.assert(
        fc.asyncProperty(c.inputs, async (specs) => {
          const rng = F.makeRng(seed++);
          const datas = specs.map((s) => values(s, rng));
          const cpu = await runOn('cpu', specs, datas, c.fn, seed);
          const other = await runOn(device, specs, datas, c.fn, seed);
          expect(other.shape).toEqual(cpu.shape);
          expectClose(other.out, cpu.out, TOL.crossBackend, `${c.name} forward`);
          expect(other.grads.length).toBe(cpu.grads.length);
          cpu.grads.forEach((g, i) => expectClose(other.grads[i], g, TOL.crossBackend, `${c.name} d/d input ${i}`));
        }),
        { numRuns: c.runs ?? 4, seed: 42 },
      );
    });
  }
}
