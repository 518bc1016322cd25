// Shared test machinery: the same data and the same view (shape, strides, offset) on the CPU and the GPU
// backend, strided-layout arbitraries for fast-check, and a tolerance-aware comparison.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Backend, Storage, View } from '../../core/backend';
import type { DType, TypedArray } from '../../core/dtype';
import { cpuBackend } from '../../kernels/cpu/backend';
import { contiguousStrides, numel } from '../../core/shape';
import type { Tol } from '../tolerances';

export { cpuBackend };

/** Where a view sits in its storage, independent of the backend. */
export interface Layout {
  shape: number[];
  strides: number[];
  offset: number;
  /** Elements the backing storage needs. */
  size: number;
}

export function contiguousLayout(shape: number[], offset = 0): Layout {
  return { shape, strides: contiguousStrides(shape), offset, size: offset + numel(shape) };
}

/** Layout choices per axis: slice step, flip, broadcast; plus an axis permutation and a leading offset. */
export interface LayoutPlan {
  steps: number[];
  flips: boolean[];
  bcast: boolean[];
  perm: number[];
  offset: number;
}

export function planLayout(shape: number[], plan: LayoutPlan): Layout {
  const r = shape.length;
  const baseDims = shape.map((d, i) => (plan.bcast[i] ? 1 : d * plan.steps[i]));
  // storage holds the axes in `perm` order, contiguously
  const permDims = plan.perm.map((i) => baseDims[i]);
  const permStrides = contiguousStrides(permDims);
  const strides = new Array<number>(r);
  plan.perm.forEach((axis, j) => (strides[axis] = plan.bcast[axis] ? 0 : permStrides[j] * plan.steps[axis]));
  let offset = plan.offset;
  for (let i = 0; i < r; i++) {
    if (plan.flips[i] && !plan.bcast[i] && shape[i] > 0) {
      offset += (shape[i] - 1) * strides[i];
      strides[i] = -strides[i];
    }
  }
  return { shape, strides, offset, size: plan.offset + Math.max(1, numel(baseDims)) };
}

/** An arbitrary layout plan for `rank` axes (permuted, sliced, flipped, broadcast, offset). */
export function arbPlan(rank: number, opts: { bcast?: boolean } = {}): fc.Arbitrary<LayoutPlan> {
  return fc.record({
    steps: fc.array(fc.constantFrom(1, 1, 2), { minLength: rank, maxLength: rank }),
    flips: fc.array(fc.boolean(), { minLength: rank, maxLength: rank }),
    bcast: fc.array(opts.bcast ? fc.boolean() : fc.constant(false), { minLength: rank, maxLength: rank }),
    perm: fc.shuffledSubarray([...Array(rank).keys()], { minLength: rank, maxLength: rank }),
    offset: fc.integer({ min: 0, max: 5 }),
  });
}

/** Shapes with odd sizes: rank 0..maxRank, each axis 1..maxDim. */
export function arbShape(maxRank = 4, maxDim = 9, minRank = 0): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/** Deterministic pseudo-random floats (mulberry32) in [lo, hi). */
export function randomData(n: number, seed: number, lo = -3, hi = 3, dtype: DType = 'float32'): TypedArray {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  if (dtype === 'int32') {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.floor(lo + (hi - lo) * next());
    return a;
  }
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * next();
  return a;
}

/** The same view on both backends. */
export interface Pair {
  cpu: View;
  gpu: View;
  data: TypedArray;
  layout: Layout;
}

export function makePair(gpu: Backend, layout: Layout, data: TypedArray): Pair {
  if (data.length < layout.size) throw new Error('makePair: data too short for the layout');
  const dtype: DType = data instanceof Int32Array ? 'int32' : 'float32';
  const view = (storage: Storage): View => ({ storage, shape: layout.shape, strides: layout.strides, offset: layout.offset, dtype });
  return { cpu: view(cpuBackend.upload(data)), gpu: view(gpu.upload(data)), data, layout };
}

export function pairFrom(gpu: Backend, layout: Layout, seed: number, lo = -3, hi = 3, dtype: DType = 'float32'): Pair {
  return makePair(gpu, layout, randomData(layout.size, seed, lo, hi, dtype));
}

export function releasePair(gpu: Backend, ...pairs: Pair[]): void {
  for (const p of pairs) gpu.release(p.gpu.storage);
}

/** Reads a contiguous result storage of `shape` from a backend. */
export function readStorage(b: Backend, s: Storage, shape: readonly number[]): Promise<TypedArray> {
  return b.read({ storage: s, shape, strides: contiguousStrides(shape), offset: 0, dtype: s.dtype });
}

function fmt(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/** Elementwise comparison; `scale` (per element, e.g. Σ|terms|) replaces |c| in the relative term. */
export function expectClose(got: TypedArray, want: TypedArray, tol: Tol, label: string, scale?: ArrayLike<number>): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const c = want[i];
    let ok: boolean;
    if (Number.isNaN(c) || Number.isNaN(g)) ok = Number.isNaN(c) && Number.isNaN(g);
    else if (!Number.isFinite(c) || !Number.isFinite(g)) ok = g === c;
    else ok = Math.abs(g - c) <= tol.atol + tol.rtol * (scale ? scale[i] : Math.abs(c));
    if (!ok && bad.length < 8) bad.push(`[${i}] gpu ${fmt(g)} cpu ${fmt(c)}${scale ? ` scale ${scale[i]}` : ''}`);
  }
  if (bad.length) expect.fail(`${label}: ${bad.length}+ mismatches (rtol ${tol.rtol}, atol ${tol.atol}):\n  ${bad.join('\n  ')}`);
}

/** Compares a GPU result storage with the CPU one (both contiguous of `shape`) and releases the GPU one. */
export async function compareStorages(gpu: Backend, g: Storage, c: Storage, shape: readonly number[], tol: Tol, label: string, scale?: ArrayLike<number>): Promise<void> {
  const got = await readStorage(gpu, g, shape);
  const want = await readStorage(cpuBackend, c, shape);
  gpu.release(g);
  expect(g.dtype, `${label}: dtype`).toBe(c.dtype);
  expectClose(got, want, tol, label, scale);
}

/** fast-check settings for GPU properties: few runs (each may compile a pipeline), reproducible. */
export const FC = { numRuns: 25, seed: 1234 };
