// Memory and elementwise kernels of the WebGPU backend against the CPU reference backend.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import type { BinaryOp, UnaryOp } from '../../core/backend';
import type { DType } from '../../core/dtype';
import { numel } from '../../core/shape';
import { describeGpu, useGpuTeardown } from './setup';
import {
  FC, arbPlan, arbShape, compareStorages, contiguousLayout, cpuBackend, expectClose, makePair, pairFrom, planLayout,
  readStorage, releasePair,
} from './helpers';
import type { Tol } from '../tolerances';
import { EXACT, GELU, ONE_ROUNDING, POW, TRANSCENDENTAL, TRIG, powScale } from '../tolerances';

useGpuTeardown();

const SPECIALS = [0, -0, 1, -1, NaN, Infinity, -Infinity, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-3, -1e-3, 100, -100, 88, 89,
  -104, 3.1415927, 1e6, 1e-20, 20, -20, 7.5, -7.5, 0.49, -0.51, 5, -5, 1e-30, 4000];

const UNARY: Record<UnaryOp, { tol: Tol; lo: number; hi: number }> = {
  copy: { tol: EXACT, lo: -3, hi: 3 },
  neg: { tol: EXACT, lo: -3, hi: 3 },
  exp: { tol: TRANSCENDENTAL, lo: -20, hi: 20 },
  log: { tol: TRANSCENDENTAL, lo: -0.5, hi: 10 },
  sqrt: { tol: ONE_ROUNDING, lo: -0.5, hi: 10 },
  rsqrt: { tol: ONE_ROUNDING, lo: -0.5, hi: 10 },
  abs: { tol: EXACT, lo: -3, hi: 3 },
  sign: { tol: EXACT, lo: -3, hi: 3 },
  relu: { tol: EXACT, lo: -3, hi: 3 },
  sigmoid: { tol: TRANSCENDENTAL, lo: -20, hi: 20 },
  tanh: { tol: TRANSCENDENTAL, lo: -6, hi: 6 },
  erf: { tol: TRANSCENDENTAL, lo: -5, hi: 5 },
  gelu: { tol: GELU, lo: -8, hi: 8 },
  geluTanh: { tol: GELU, lo: -8, hi: 8 },
  geluGrad: { tol: { rtol: 1e-6, atol: 1e-7 }, lo: -8, hi: 8 },
  geluTanhGrad: { tol: { rtol: 1e-6, atol: 1e-7 }, lo: -8, hi: 8 },
  square: { tol: ONE_ROUNDING, lo: -3, hi: 3 },
  reciprocal: { tol: ONE_ROUNDING, lo: -3, hi: 3 },
  sin: { tol: TRIG, lo: -50, hi: 50 },
  cos: { tol: TRIG, lo: -50, hi: 50 },
  floor: { tol: EXACT, lo: -5, hi: 5 },
  ceil: { tol: EXACT, lo: -5, hi: 5 },
  round: { tol: EXACT, lo: -5, hi: 5 },
  isnan: { tol: EXACT, lo: -3, hi: 3 },
};

/** Inputs where an op's CPU value is outside the accuracy we promise (documented limits). */
function specialsFor(op: UnaryOp): number[] {
  if (op === 'sin' || op === 'cos') return SPECIALS.filter((v) => !(Math.abs(v) > 8192));
  return SPECIALS;
}

const BINARY: Record<BinaryOp, Tol> = {
  add: ONE_ROUNDING, sub: ONE_ROUNDING, mul: ONE_ROUNDING, div: ONE_ROUNDING, pow: POW,
  maximum: EXACT, minimum: EXACT, eq: EXACT, ne: EXACT, lt: EXACT, le: EXACT, gt: EXACT, ge: EXACT,
};
const INT_BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];

describeGpu('WebGPU memory', (gpu) => {
  it('reports the adapter', () => {
    const info = gpu.info;
    expect(typeof info.isFallbackAdapter).toBe('boolean');
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    console.log(`WebGPU adapter: ${info.vendor} ${info.architecture} "${info.description}" fallback=${info.isFallbackAdapter} features=[${info.features.join(', ')}]`);
  });

  it('full / upload / read round-trip float32 and int32, including empty and odd sizes', async () => {
    for (const n of [0, 1, 3, 4, 5, 257, 1025]) {
      for (const [dtype, value] of [['float32', 2.5], ['float32', NaN], ['float32', -Infinity], ['int32', -7], ['int32', 3.9]] as [DType, number][]) {
        const g = gpu.full(n, dtype, value);
        const c = cpuBackend.full(n, dtype, value);
        await compareStorages(gpu, g, c, [n], EXACT, `full(${n}, ${dtype}, ${value})`);
      }
      const f = new Float32Array(n).map((_, i) => i * 0.25 - 3);
      const i32 = new Int32Array(n).map((_, i) => i * 7 - 1000);
      for (const data of [f, i32]) {
        const s = gpu.upload(data);
        expect(s.dtype).toBe(data instanceof Int32Array ? 'int32' : 'float32');
        expect(s.size).toBe(n);
        const back = await readStorage(gpu, s, [n]);
        expect(Array.from(back)).toEqual(Array.from(data));
        gpu.release(s);
      }
    }
  });

  it('reads strided views (permuted, sliced, flipped, broadcast, offset)', async () => {
    await fc.assert(
      fc.asyncProperty(arbShape(4, 7).chain((shape) => fc.tuple(fc.constant(shape), arbPlan(shape.length, { bcast: true }))), fc.boolean(), async ([shape, plan], asInt) => {
        const layout = planLayout(shape, plan);
        const p = pairFrom(gpu, layout, 7, -100, 100, asInt ? 'int32' : 'float32');
        const got = await gpu.read(p.gpu);
        const want = await cpuBackend.read(p.cpu);
        expectClose(got, want, EXACT, `read ${JSON.stringify(layout)}`);
        releasePair(gpu, p);
      }),
      FC,
    );
  });

  it('throws a clear error for float64', () => {
    expect(() => gpu.full(4, 'float64', 1)).toThrow(/float64/);
    expect(() => gpu.upload(new Float64Array(3))).toThrow(/float64/);
  });

  it('throws a clear error for buffers beyond the device limit', () => {
    const limit = gpu.info.limits.maxStorageBufferBindingSize;
    expect(() => gpu.full(Math.floor(limit / 4) + 16, 'float32', 0)).toThrow(/maxStorageBufferBindingSize/);
  });
});

describeGpu('WebGPU unary', (gpu) => {
  const ops = Object.keys(UNARY) as UnaryOp[];

  it.each(ops)('%s on special values', async (op) => {
    const data = new Float32Array(specialsFor(op));
    const p = makePair(gpu, contiguousLayout([data.length]), data);
    await compareStorages(gpu, gpu.unary(op, p.gpu), cpuBackend.unary(op, p.cpu), [data.length], UNARY[op].tol, `${op}(specials)`);
    releasePair(gpu, p);
  });

  it.each(ops)('%s on random strided views', async (op) => {
    const { tol, lo, hi } = UNARY[op];
    await fc.assert(
      fc.asyncProperty(arbShape(4, 9).chain((shape) => fc.tuple(fc.constant(shape), arbPlan(shape.length, { bcast: true }))), fc.integer(), async ([shape, plan], seed) => {
        const layout = planLayout(shape, plan);
        const p = pairFrom(gpu, layout, seed, lo, hi);
        await compareStorages(gpu, gpu.unary(op, p.gpu), cpuBackend.unary(op, p.cpu), shape, tol, `${op} ${JSON.stringify(layout)}`);
        releasePair(gpu, p);
      }),
      { ...FC, numRuns: 8 },
    );
  });

  it.each(ops)('%s on int32', async (op) => {
    const data = new Int32Array([0, 1, -1, 2, -3, 7, 100, -100, 2147483647, -2147483648, 46340, 12345]);
    if (op === 'exp' || op === 'sigmoid' || op === 'reciprocal' || op === 'rsqrt') data.fill(3, 6); // keep float results in int32 range
    const p = makePair(gpu, contiguousLayout([data.length]), data);
    const want = cpuBackend.unary(op, p.cpu);
    const got = gpu.unary(op, p.gpu);
    const c = await readStorage(cpuBackend, want, [data.length]);
    const g = await readStorage(gpu, got, [data.length]);
    gpu.release(got);
    // float ops on ints go through float32 (the CPU uses float64): compare where float32 can represent the input
    const tol = UNARY[op].tol === EXACT ? EXACT : { rtol: 2e-6, atol: 1 };
    const keep = (i: number): boolean => Math.abs(data[i]) <= 16777216 || UNARY[op].tol === EXACT;
    expectClose(g.filter((_, i) => keep(i)), c.filter((_, i) => keep(i)), tol, `${op}(int32)`);
    releasePair(gpu, p);
  });
});

describeGpu('WebGPU binary', (gpu) => {
  const ops = Object.keys(BINARY) as BinaryOp[];

  it.each(ops)('%s float32 on broadcast / strided views', async (op) => {
    await fc.assert(
      fc.asyncProperty(
        arbShape(4, 8).chain((shape) => fc.tuple(fc.constant(shape), arbPlan(shape.length, { bcast: true }), arbPlan(shape.length, { bcast: true }))),
        fc.integer(),
        async ([shape, pa, pb], seed) => {
          const [lo, hi] = op === 'pow' ? [0.1, 4] : [-3, 3];
          const a = pairFrom(gpu, planLayout(shape, pa), seed, lo, hi);
          const b = pairFrom(gpu, planLayout(shape, pb), seed + 1, op === 'pow' ? -3 : -3, 3);
          // quantise so comparisons see ties
          if (op !== 'pow' && op !== 'div') for (const p of [a, b]) p.data.forEach((v, i, arr) => (arr[i] = Math.round(v * 2) / 2));
          const a2 = makePair(gpu, a.layout, a.data);
          const b2 = makePair(gpu, b.layout, b.data);
          const want = cpuBackend.binary(op, a2.cpu, b2.cpu);
          const scale = op === 'pow' ? powScale(await cpuBackend.read(a2.cpu), await cpuBackend.read(b2.cpu), await readStorage(cpuBackend, want, shape)) : undefined;
          await compareStorages(gpu, gpu.binary(op, a2.gpu, b2.gpu), want, shape, BINARY[op], `${op}`, scale);
          releasePair(gpu, a, b, a2, b2);
        },
      ),
      { ...FC, numRuns: 8 },
    );
  });

  it.each(ops)('%s float32 on special values (all pairs)', async (op) => {
    const s = [0, -0, 1, -1, NaN, Infinity, -Infinity, 0.5, -2, 3, 2.5, -0.5];
    const av = new Float32Array(s.length * s.length);
    const bv = new Float32Array(s.length * s.length);
    s.forEach((x, i) => s.forEach((y, j) => ((av[i * s.length + j] = x), (bv[i * s.length + j] = y))));
    const a = makePair(gpu, contiguousLayout([av.length]), av);
    const b = makePair(gpu, contiguousLayout([bv.length]), bv);
    const want = cpuBackend.binary(op, a.cpu, b.cpu);
    const scale = op === 'pow' ? powScale(av, bv, await readStorage(cpuBackend, want, [av.length])) : undefined;
    await compareStorages(gpu, gpu.binary(op, a.gpu, b.gpu), want, [av.length], BINARY[op], `${op}(specials)`, scale);
    releasePair(gpu, a, b);
  });

  it.each(INT_BINARY)('%s int32', async (op) => {
    const n = 64;
    const av = new Int32Array(n).map((_, i) => ((i * 37) % 23) - 11);
    const bv = new Int32Array(n).map((_, i) => (op === 'pow' ? ((i * 13) % 9) - 2 : ((i * 53) % 17) - 8));
    const a = makePair(gpu, contiguousLayout([8, 8]), av);
    const b = makePair(gpu, { shape: [8, 8], strides: [1, 8], offset: 0, size: 64 }, bv); // transposed
    await compareStorages(gpu, gpu.binary(op, a.gpu, b.gpu), cpuBackend.binary(op, a.cpu, b.cpu), [8, 8], EXACT, `${op}(int32)`);
    releasePair(gpu, a, b);
  });

  it.each(ops)('%s with a scalar, both orders, float32 and int32', async (op) => {
    const data = new Float32Array([0, -0, 1, -1, NaN, Infinity, -Infinity, 0.1, 0.5, 2, 3, -2.5, 0.30000001192092896, 1e-8]);
    const idata = new Int32Array([0, 1, -1, 2, 3, -7, 10, 100]);
    const scalars = [0, 1, -1, 2, 0.1, 0.5, -2.5, 3, NaN, Infinity, 1 / 3];
    const fp = makePair(gpu, contiguousLayout([data.length]), data);
    const ip = makePair(gpu, contiguousLayout([idata.length]), idata);
    for (const s of scalars) {
      for (const first of [false, true]) {
        const want = cpuBackend.binaryScalar(op, fp.cpu, s, first);
        const c = await readStorage(cpuBackend, want, [data.length]);
        let tol = BINARY[op];
        let scale: number[] | undefined;
        if (op === 'pow') scale = first ? powScale(new Array(data.length).fill(s), data, c) : powScale(data, new Array(data.length).fill(s), c);
        if ((op === 'add' || op === 'sub') && Number.isFinite(s)) tol = { ...tol, atol: 2 ** -24 * Math.abs(s) };
        await compareStorages(gpu, gpu.binaryScalar(op, fp.gpu, s, first), want, [data.length], tol, `${first ? `${s} ${op} x` : `x ${op} ${s}`}`, scale);
        if (Number.isFinite(s) && !(op === 'pow' && (s < 0 || !Number.isInteger(s)))) {
          const tol = Number.isInteger(s) || BINARY[op] === EXACT ? EXACT : { rtol: 0, atol: 1 };
          const label = `int ${first ? `${s} ${op} x` : `x ${op} ${s}`}`;
          const g = await readStorage(gpu, gpu.binaryScalar(op, ip.gpu, s, first), [idata.length]);
          const c = await readStorage(cpuBackend, cpuBackend.binaryScalar(op, ip.cpu, s, first), [idata.length]);
          // integer overflow: the GPU wraps, the CPU rounds in float64 first; compare where the result fits
          const fits = (i: number): boolean => op !== 'pow' || Math.abs(first ? s ** idata[i] : idata[i] ** s) < 2 ** 31;
          expectClose(g.filter((_, i) => fits(i)), c.filter((_, i) => fits(i)), tol, label);
        }
      }
    }
    releasePair(gpu, fp, ip);
  });
});

describeGpu('WebGPU where / clamp / cast / copyInto', (gpu) => {
  it('where with float and int conditions on broadcast views', async () => {
    await fc.assert(
      fc.asyncProperty(arbShape(4, 7).chain((shape) => fc.tuple(fc.constant(shape), arbPlan(shape.length, { bcast: true }), arbPlan(shape.length, { bcast: true }))), fc.integer(), fc.boolean(), async ([shape, pc, pa], seed, intCond) => {
        const c = pairFrom(gpu, planLayout(shape, pc), seed, -1, 2, intCond ? 'int32' : 'float32');
        if (!intCond) c.data.forEach((v, i, arr) => (arr[i] = v < 0 ? NaN : Math.floor(v)));
        const c2 = makePair(gpu, c.layout, c.data);
        const a = pairFrom(gpu, planLayout(shape, pa), seed + 1);
        const b = pairFrom(gpu, contiguousLayout(shape, 1), seed + 2);
        await compareStorages(gpu, gpu.where(c2.gpu, a.gpu, b.gpu), cpuBackend.where(c2.cpu, a.cpu, b.cpu), shape, EXACT, 'where');
        const ai = pairFrom(gpu, planLayout(shape, pa), seed + 3, -50, 50, 'int32');
        const bi = pairFrom(gpu, contiguousLayout(shape), seed + 4, -50, 50, 'int32');
        await compareStorages(gpu, gpu.where(c2.gpu, ai.gpu, bi.gpu), cpuBackend.where(c2.cpu, ai.cpu, bi.cpu), shape, EXACT, 'where int32');
        releasePair(gpu, c, c2, a, b, ai, bi);
      }),
      { ...FC, numRuns: 10 },
    );
  });

  it('clamp propagates NaN and accepts infinite bounds (float32 and int32)', async () => {
    const data = new Float32Array([NaN, -Infinity, Infinity, -2, -1, -0.5, 0, 0.5, 1, 2, 0.1]);
    const idata = new Int32Array([-5, -3, -2, -1, 0, 1, 2, 3, 5, 2147483647, -2147483648]);
    const fp = makePair(gpu, contiguousLayout([data.length]), data);
    const ip = makePair(gpu, contiguousLayout([idata.length]), idata);
    for (const [lo, hi] of [[-1, 1], [-Infinity, 0.5], [0, Infinity], [-Infinity, Infinity], [0.1, 0.1], [1, -1], [-2.5, 2.5]]) {
      await compareStorages(gpu, gpu.clamp(fp.gpu, lo, hi), cpuBackend.clamp(fp.cpu, lo, hi), [data.length], ONE_ROUNDING, `clamp(${lo}, ${hi})`);
      await compareStorages(gpu, gpu.clamp(ip.gpu, lo, hi), cpuBackend.clamp(ip.cpu, lo, hi), [idata.length], EXACT, `int clamp(${lo}, ${hi})`);
    }
    releasePair(gpu, fp, ip);
  });

  it('cast float32 ↔ int32 truncates toward zero', async () => {
    const data = new Float32Array([0, -0, 0.5, -0.5, 1.9, -1.9, 2.5, -2.5, 1e9, -1e9, 123456.7, NaN, Infinity, -Infinity, 3e9]);
    const p = makePair(gpu, contiguousLayout([data.length]), data);
    const got = await readStorage(gpu, gpu.cast(p.gpu, 'int32'), [data.length]);
    const want = await readStorage(cpuBackend, cpuBackend.cast(p.cpu, 'int32'), [data.length]);
    // NaN/±inf/out-of-range → 0 on the GPU (the CPU wraps like JS ToInt32); finite in-range values agree
    expectClose(got.subarray(0, 11), want.subarray(0, 11), EXACT, 'cast → int32');
    const ip = makePair(gpu, contiguousLayout([5]), new Int32Array([0, -1, 16777217, -2147483648, 7]));
    await compareStorages(gpu, gpu.cast(ip.gpu, 'float32'), cpuBackend.cast(ip.cpu, 'float32'), [5], EXACT, 'cast → float32');
    await compareStorages(gpu, gpu.cast(ip.gpu, 'int32'), cpuBackend.cast(ip.cpu, 'int32'), [5], EXACT, 'cast int32 → int32');
    releasePair(gpu, p, ip);
  });

  it('copyInto strided destinations, with casts and with src and dst in one storage', async () => {
    await fc.assert(
      fc.asyncProperty(arbShape(4, 6, 1).chain((shape) => fc.tuple(fc.constant(shape), arbPlan(shape.length), arbPlan(shape.length, { bcast: true }))), fc.integer(), fc.boolean(), async ([shape, pd, ps], seed, intSrc) => {
        const dst = pairFrom(gpu, planLayout(shape, pd), seed);
        const src = pairFrom(gpu, planLayout(shape, ps), seed + 1, -9, 9, intSrc ? 'int32' : 'float32');
        gpu.copyInto(src.gpu, dst.gpu);
        cpuBackend.copyInto(src.cpu, dst.cpu);
        const whole = contiguousLayout([dst.layout.size]);
        const full = (v: typeof dst.gpu) => ({ ...v, shape: whole.shape, strides: whole.strides, offset: 0 });
        expectClose(await gpu.read(full(dst.gpu)), await cpuBackend.read(full(dst.cpu)), EXACT, 'copyInto');
        releasePair(gpu, dst, src);
      }),
      { ...FC, numRuns: 15 },
    );
    // overlapping source and destination in one storage, x[1:] = x[:-1]: the GPU copies the source first
    // (torch's result). The CPU backend copies element by element from a live view and smears x[0] instead.
    const data = new Float32Array(10).map((_, i) => i);
    const p = makePair(gpu, contiguousLayout([10]), data);
    gpu.copyInto({ ...p.gpu, shape: [9], strides: [1], offset: 0 }, { ...p.gpu, shape: [9], strides: [1], offset: 1 });
    expect(Array.from(await gpu.read(p.gpu))).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    releasePair(gpu, p);
  });
});

describeGpu('WebGPU dispatch limits and pool', (gpu) => {
  it('an elementwise op over more than 65,535 workgroups', async () => {
    const n = 65536 * 256 + 1000; // > 65,535 workgroups of 256 elements: the grid is folded into y
    const x = gpu.full(n, 'float32', 1.5);
    const xs = { storage: x, shape: [n], strides: [1], offset: 0, dtype: 'float32' as const };
    const y = gpu.binaryScalar('mul', xs, 2, false);
    // strided read of a few elements spread over the whole range (including the tail)
    const picks = { storage: y, shape: [5], strides: [Math.floor((n - 1) / 4)], offset: 0, dtype: 'float32' as const };
    const got = await gpu.read(picks);
    expect(Array.from(got)).toEqual([3, 3, 3, 3, 3]);
    const tail = await gpu.read({ storage: y, shape: [7], strides: [1], offset: n - 7, dtype: 'float32' });
    expect(Array.from(tail)).toEqual([3, 3, 3, 3, 3, 3, 3]);
    gpu.release(x);
    gpu.release(y);
    expect(numel([n])).toBe(n);
  });

  it('1,000 small kernel calls with release leave bytesInUse where it started', async () => {
    await gpu.sync();
    const before = gpu.stats();
    const a = gpu.upload(new Float32Array([1, 2, 3, 4, 5]));
    const av = { storage: a, shape: [5], strides: [1], offset: 0, dtype: 'float32' as const };
    let acc = gpu.full(5, 'float32', 0);
    for (let i = 0; i < 1000; i++) {
      const next = gpu.binary('add', { ...av, storage: acc }, av);
      gpu.release(acc);
      acc = next;
      if (i % 250 === 0) await gpu.read({ ...av, storage: acc });
    }
    expect(Array.from(await gpu.read({ ...av, storage: acc }))).toEqual([1000, 2000, 3000, 4000, 5000]);
    gpu.release(acc);
    gpu.release(a);
    await gpu.sync();
    const after = gpu.stats();
    expect(after.bytesInUse).toBe(before.bytesInUse);
    // buffers released while their batch is still open wait for the submit: at most one batch (32) of extra buffers
    expect(after.bytesAllocated - before.bytesAllocated).toBeLessThanOrEqual(40 * 256);
    expect(after.dispatches - before.dispatches).toBeGreaterThanOrEqual(1000);
  });
});
