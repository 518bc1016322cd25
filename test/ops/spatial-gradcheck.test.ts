// Float64 finite-difference gradient checks of the spatial ops over random geometry (fast-check): random
// kernel sizes, strides, paddings ('same' included), dilations, groups, ceil modes, divisors, output sizes
// and interpolation modes, on inputs that are sometimes non-contiguous (transposed H/W) views. For
// L = Σ y·gy with a seeded gy, each analytic gradient (grad()) must equal the central difference
// (L(x + h·e_j) − L(x − h·e_j)) / 2h element by element. Plus shape and invariant properties that do not
// depend on torch: output sizes, and "a constant image stays constant" for the averaging maps.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import type { Tensor } from '../../index';
import { gradcheck as sharedGradcheck } from '../helpers/gradcheck';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';

const H = 1e-6;
const RUNS = { numRuns: 60, seed: 20240612 };

/** Deterministic pseudo-random values (LCG). `distinct` gives a shuffled ramp: no two values closer than
 *  1/n, so max-pool never sees a tie within the finite-difference step. */
function values(seed: number, n: number, distinct = false): number[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  if (!distinct) return Array.from({ length: n }, () => 2 * next() - 1);
  const ramp = Array.from({ length: n }, (_, i) => -1 + (2 * i) / Math.max(n, 1));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ramp[i], ramp[j]] = [ramp[j], ramp[i]];
  }
  return ramp;
}

interface Input {
  shape: number[];
  data: number[];
  /** Build the leaf with H and W swapped and transpose it back: a non-contiguous view. */
  transposed?: boolean;
}

function leaf(inp: Input, data: number[], requiresGrad: boolean): { leaf: Tensor; view: Tensor } {
  if (!inp.transposed) {
    const t = F.tensor(data, inp.shape, { dtype: 'float64', requiresGrad });
    return { leaf: t, view: t };
  }
  const r = inp.shape.length;
  const swapped = [...inp.shape];
  [swapped[r - 2], swapped[r - 1]] = [swapped[r - 1], swapped[r - 2]];
  const t = F.tensor(data, swapped, { dtype: 'float64', requiresGrad });
  return { leaf: t, view: F.transpose(t, r - 2, r - 1) };
}

/** Checks d(Σ f(xs)·gy)/dxs against central differences (the shared helper); `f` sees the (transposed) views. */
async function gradcheck(f: (xs: Tensor[]) => Tensor, inputs: Input[], seed: number): Promise<void> {
  const built = inputs.map((inp) => leaf(inp, inp.data, true));
  const viewsOf = (xs: Tensor[]) => xs.map((t, i) => (inputs[i].transposed ? F.transpose(t, -2, -1) : t));
  await sharedGradcheck((...xs) => f(viewsOf(xs)), built.map((b) => b.leaf), {
    eps: H, atol: TOL.spatialGradcheckF64.atol, rtol: TOL.spatialGradcheckF64.rtol, seed,
  });
}

const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const seedArb = fc.integer({ min: 1, max: 2 ** 30 });
const pairArb = (lo: number, hi: number): fc.Arbitrary<[number, number]> =>
  fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: hi }));

describe('conv2d gradients (float64 finite differences)', () => {
  it('random stride / padding / dilation / groups / bias, batched or not, strided inputs', async () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }),
      groups: fc.integer({ min: 1, max: 3 }),
      Cg: fc.integer({ min: 1, max: 2 }),
      Og: fc.integer({ min: 1, max: 2 }),
      k: pairArb(1, 3),
      stride: pairArb(1, 2),
      dilation: pairArb(1, 2),
      pad: pairArb(0, 2),
      same: fc.boolean(),
      extra: pairArb(0, 3),
      bias: fc.boolean(),
      unbatched: fc.boolean(),
      transposed: fc.boolean(),
      seed: seedArb,
    });
    await fc.assert(fc.asyncProperty(arb, async (o) => {
      const same = o.same && o.stride[0] === 1 && o.stride[1] === 1;
      const padding = same ? 'same' as const : o.pad;
      const padUsed = same ? [0, 0] : o.pad;
      // Smallest input the kernel fits in, plus a little.
      const size = [0, 1].map((i) => Math.max(1, o.dilation[i] * (o.k[i] - 1) + 1 - 2 * padUsed[i] + o.extra[i]));
      const C = o.Cg * o.groups;
      const O = o.Og * o.groups;
      const xShape = o.unbatched ? [C, size[0], size[1]] : [o.N, C, size[0], size[1]];
      const wShape = [O, o.Cg, o.k[0], o.k[1]];
      const inputs: Input[] = [
        { shape: xShape, data: values(o.seed + 1, numel(xShape)), transposed: o.transposed },
        { shape: wShape, data: values(o.seed + 2, numel(wShape)) },
      ];
      if (o.bias) inputs.push({ shape: [O], data: values(o.seed + 3, O) });
      await gradcheck(([x, w, b]) => F.conv2d(x, w, b ?? null, { stride: o.stride, padding, dilation: o.dilation, groups: o.groups }), inputs, o.seed);
    }), RUNS);
  });
});

/** Whether every max-pool window along one axis reads at least one real pixel. */
function everyWindowHitsInput(n: number, k: number, s: number, p: number, d: number, ceil: boolean): boolean {
  const span = n + 2 * p - d * (k - 1) - 1;
  let out = Math.floor((ceil ? span + s - 1 : span) / s) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  for (let o = 0; o < out; o++) {
    let hit = false;
    for (let i = 0; i < k; i++) {
      const pos = o * s - p + i * d;
      if (pos >= 0 && pos < n) hit = true;
    }
    if (!hit) return false;
  }
  return true;
}

describe('pooling gradients (float64 finite differences)', () => {
  const geometry = fc.record({
    k: pairArb(1, 3),
    stride: pairArb(1, 3),
    dilation: pairArb(1, 2),
    padFrac: pairArb(0, 1),
    extra: pairArb(0, 3),
    ceilMode: fc.boolean(),
    C: fc.integer({ min: 1, max: 2 }),
    unbatched: fc.boolean(),
    transposed: fc.boolean(),
    seed: seedArb,
  });
  const sizeFor = (k: number[], d: number[], pad: number[], extra: number[]): number[] =>
    [0, 1].map((i) => Math.max(1, d[i] * (k[i] - 1) + 1 - 2 * pad[i] + extra[i]));
  const xInput = (o: { C: number; unbatched: boolean; transposed: boolean; seed: number }, size: number[], distinct: boolean): Input => {
    const shape = o.unbatched ? [o.C, size[0], size[1]] : [2, o.C, size[0], size[1]];
    return { shape, data: values(o.seed, numel(shape), distinct), transposed: o.transposed };
  };

  it('maxPool2d with random kernel / stride / padding / dilation / ceilMode (no ties)', async () => {
    await fc.assert(fc.asyncProperty(geometry, async (o) => {
      const pad = [0, 1].map((i) => o.padFrac[i] * Math.floor(o.k[i] / 2));
      const size = sizeFor(o.k, o.dilation, pad, o.extra);
      // A dilated window can fall wholly into the padding (torch then outputs -inf); no gradient to check there.
      fc.pre([0, 1].every((i) => everyWindowHitsInput(size[i], o.k[i], o.stride[i], pad[i], o.dilation[i], o.ceilMode)));
      const x = xInput(o, size, true);
      await gradcheck(([t]) => F.maxPool2d(t, { kernelSize: o.k, stride: o.stride, padding: pad as [number, number], dilation: o.dilation, ceilMode: o.ceilMode }), [x], o.seed + 7);
    }), RUNS);
  });

  it('avgPool2d with random kernel / stride / padding / ceilMode / countIncludePad / divisorOverride', async () => {
    const arb = fc.record({ g: geometry, countIncludePad: fc.boolean(), divisor: fc.constantFrom(null, 1, 3, -2) });
    await fc.assert(fc.asyncProperty(arb, async ({ g: o, countIncludePad, divisor }) => {
      const pad = [0, 1].map((i) => o.padFrac[i] * Math.floor(o.k[i] / 2));
      const x = xInput(o, sizeFor(o.k, [1, 1], pad, o.extra), false);
      await gradcheck(([t]) => F.avgPool2d(t, {
        kernelSize: o.k, stride: o.stride, padding: pad as [number, number], ceilMode: o.ceilMode, countIncludePad, divisorOverride: divisor,
      }), [x], o.seed + 7);
    }), RUNS);
  });

  it('adaptiveAvgPool2d to random output sizes (shrinking, growing, None)', async () => {
    const arb = fc.record({
      size: pairArb(1, 7), out: pairArb(1, 7), keepH: fc.boolean(), transposed: fc.boolean(), seed: seedArb,
    });
    await fc.assert(fc.asyncProperty(arb, async (o) => {
      const x: Input = { shape: [1, 2, o.size[0], o.size[1]], data: values(o.seed, 2 * o.size[0] * o.size[1]), transposed: o.transposed };
      await gradcheck(([t]) => F.adaptiveAvgPool2d(t, [o.keepH ? null : o.out[0], o.out[1]]), [x], o.seed + 1);
    }), RUNS);
  });
});

const modeArb = fc.constantFrom('nearest', 'nearest-exact', 'bilinear', 'bicubic', 'area') as fc.Arbitrary<F.InterpolateMode>;
const interpArb = fc.record({
  mode: modeArb,
  size: pairArb(1, 6),
  out: pairArb(1, 9),
  useScale: fc.boolean(),
  scale: fc.tuple(fc.double({ min: 0.3, max: 3, noNaN: true }), fc.double({ min: 0.3, max: 3, noNaN: true })),
  alignCorners: fc.boolean(),
  antialias: fc.boolean(),
  recompute: fc.boolean(),
  transposed: fc.boolean(),
  seed: seedArb,
}).filter((o) => !o.useScale || (Math.floor(o.size[0] * o.scale[0]) >= 1 && Math.floor(o.size[1] * o.scale[1]) >= 1));

interface InterpCase {
  mode: F.InterpolateMode;
  out: [number, number];
  useScale: boolean;
  scale: [number, number];
  alignCorners: boolean;
  antialias: boolean;
  recompute: boolean;
}

function interpOptions(o: InterpCase): F.InterpolateOptions {
  const smooth = o.mode === 'bilinear' || o.mode === 'bicubic';
  return {
    mode: o.mode,
    ...(o.useScale ? { scaleFactor: o.scale, recomputeScaleFactor: o.recompute } : { size: o.out }),
    ...(smooth ? { alignCorners: o.alignCorners, antialias: o.antialias } : {}),
  };
}

describe('interpolate gradients (float64 finite differences)', () => {
  it('every mode, size or scale factor, alignCorners, antialias', async () => {
    await fc.assert(fc.asyncProperty(interpArb, async (o) => {
      const x: Input = { shape: [1, 2, o.size[0], o.size[1]], data: values(o.seed, 2 * o.size[0] * o.size[1]), transposed: o.transposed };
      await gradcheck(([t]) => F.interpolate(t, interpOptions(o)), [x], o.seed + 1);
    }), RUNS);
  });
});

describe('spatial shape and invariant properties', () => {
  it('conv2d output size is floor((H + 2p − d(k−1) − 1)/s) + 1, and "same" keeps H×W', () => {
    fc.assert(fc.property(pairArb(1, 9), pairArb(1, 4), pairArb(1, 3), pairArb(1, 3), pairArb(0, 2), (size, k, s, d, p) => {
      fc.pre([0, 1].every((i) => size[i] + 2 * p[i] >= d[i] * (k[i] - 1) + 1));
      const y = F.noGrad(() => F.conv2d(F.zeros([1, 1, ...size]), F.zeros([1, 1, ...k]), null, { stride: s, padding: p, dilation: d }));
      expect(y.shape).toEqual([1, 1, ...[0, 1].map((i) => Math.floor((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) / s[i]) + 1)]);
      const same = F.conv2d(F.zeros([1, 1, ...size]), F.zeros([2, 1, ...k]), null, { padding: 'same', dilation: d });
      expect(same.shape).toEqual([1, 2, ...size]);
    }), { numRuns: 100, seed: 7 });
  });

  it('a constant image stays constant under every interpolation mode and adaptive pooling', async () => {
    await fc.assert(fc.asyncProperty(interpArb, fc.double({ min: -3, max: 3, noNaN: true }), async (o, c) => {
      const x = F.full([1, 2, o.size[0], o.size[1]], c, { dtype: 'float64' });
      const y = await F.interpolate(x, interpOptions(o)).data();
      expectClose(y, new Array(y.length).fill(c), { atol: 1e-12, rtol: 1e-12 }, `interpolate ${o.mode}`);
      const a = await F.adaptiveAvgPool2d(x, o.out).data();
      expectClose(a, new Array(a.length).fill(c), { atol: 1e-12, rtol: 1e-12 }, 'adaptiveAvgPool2d');
    }), { numRuns: 100, seed: 11 });
  });

  it('avgPool2d without padding counted keeps a constant image constant wherever a window holds a pixel', async () => {
    await fc.assert(fc.asyncProperty(pairArb(1, 3), pairArb(1, 3), pairArb(0, 1), pairArb(0, 3), fc.boolean(), async (k, s, pf, extra, ceilMode) => {
      const pad: [number, number] = [pf[0] * Math.floor(k[0] / 2), pf[1] * Math.floor(k[1] / 2)];
      const size = [0, 1].map((i) => Math.max(1, k[i] - 2 * pad[i] + extra[i]));
      const y = await F.avgPool2d(F.full([1, 1, ...size], 2.5, { dtype: 'float64' }), { kernelSize: k, stride: s, padding: pad, ceilMode, countIncludePad: false }).data();
      expectClose(y, new Array(y.length).fill(2.5), { atol: 1e-12, rtol: 1e-12 }, 'avgPool2d');
    }), { numRuns: 100, seed: 13 });
  });

  it('maxPool2d indices point at the returned values', async () => {
    await fc.assert(fc.asyncProperty(pairArb(1, 3), pairArb(1, 3), pairArb(0, 3), seedArb, async (k, s, extra, seed) => {
      const size = [k[0] + extra[0], k[1] + extra[1]];
      const data = values(seed, 2 * size[0] * size[1]);
      const { values: v, indices } = F.maxPool2d(F.tensor(data, [1, 2, ...size], { dtype: 'float64' }), { kernelSize: k, stride: s, returnIndices: true });
      const vv = await v.data();
      const ii = await indices.data();
      const plane = vv.length / 2;
      for (let q = 0; q < vv.length; q++) {
        const c = Math.floor(q / plane);
        expect(vv[q]).toBe(data[c * size[0] * size[1] + ii[q]]);
      }
    }), { numRuns: 50, seed: 17 });
  });
});
