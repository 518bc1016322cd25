// Float64 finite-difference gradient checks of the nn ops over random shapes, dims, strides, indices and
// options (fast-check). For L = Σ y·gy with a random gy, every input's analytic gradient (grad()) must
// match the central difference (L(x + h·e_j) − L(x − h·e_j)) / 2h, element by element.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import type { Tensor } from '../../index';
import { gradcheck as sharedGradcheck } from '../helpers/gradcheck';
import { TOL } from '../tolerances';

const H = 1e-6;
const RUNS = { numRuns: 40, seed: 20240611 };

interface Input {
  shape: number[];
  data: number[];
  /** Apply after building the leaf (e.g. a permutation making a non-contiguous view). */
  perm?: number[];
}

/** Checks d(Σ f(xs)·gy)/dxs against central differences (the shared helper); `f` sees the permuted views. */
async function gradcheck(f: (xs: Tensor[]) => Tensor, inputs: Input[], gySeed: number): Promise<void> {
  const leaves = inputs.map((inp) => F.tensor(inp.data, inp.shape, { dtype: 'float64', requiresGrad: true }));
  const viewsOf = (xs: Tensor[]) => xs.map((t, i) => (inputs[i].perm ? F.permute(t, inputs[i].perm!) : t));
  await sharedGradcheck((...xs) => f(viewsOf(xs)), leaves, {
    eps: H, atol: TOL.nnGradcheckF64.atol, rtol: TOL.nnGradcheckF64.rtol, seed: gySeed,
  });
}

const value = fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const valuesFor = (shape: number[]): fc.Arbitrary<number[]> => fc.array(value, { minLength: numel(shape), maxLength: numel(shape) });
const shapeArb = (minRank: number, maxRank: number, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
/** An input of some shape, optionally given as a permuted (non-contiguous) view of a leaf. */
const inputArb = (shape: number[], permuted: boolean): fc.Arbitrary<Input> => {
  if (!permuted || shape.length < 2) return valuesFor(shape).map((data) => ({ shape, data }));
  return fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }).chain((perm) => {
    // The leaf has the inverse-permuted shape, so leaf.permute(perm) has `shape`.
    const leafShape = perm.map(() => 0);
    perm.forEach((p, i) => (leafShape[p] = shape[i]));
    return valuesFor(leafShape).map((data) => ({ shape: leafShape, data, perm }));
  });
};
const seedArb = fc.integer({ min: 1, max: 2 ** 30 });
const intsIn = (n: number, lo: number, hi: number): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: lo, max: hi }), { minLength: n, maxLength: n });

describe('nn gradients match float64 finite differences', () => {
  it('softmax and logSoftmax over any dim of (permuted) inputs', async () => {
    const arb = shapeArb(1, 3).chain((shape) =>
      fc.record({
        x: inputArb(shape, true),
        dim: fc.integer({ min: -shape.length, max: shape.length - 1 }),
        log: fc.boolean(),
        seed: seedArb,
      }));
    await fc.assert(fc.asyncProperty(arb, async ({ x, dim, log, seed }) => {
      await gradcheck(([t]) => (log ? F.logSoftmax(t, dim) : F.softmax(t, dim)), [x], seed);
    }), RUNS);
  });

  it('crossEntropy with index targets (weights, ignoreIndex, label smoothing, every reduction)', async () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 2, max: 4 }),
      spatial: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      weighted: fc.boolean(),
      smoothing: fc.constantFrom(0, 0.1, 0.35),
      reduction: fc.constantFrom('mean', 'sum', 'none') as fc.Arbitrary<F.Reduction>,
      seed: seedArb,
    }).chain((o) => {
      const shape = [o.N, o.C, ...o.spatial];
      const tShape = [o.N, ...o.spatial];
      return fc.record({
        o: fc.constant(o),
        x: inputArb(shape, true),
        // -1 stands for "ignored"; at least one target is kept so the mean is defined.
        t: intsIn(numel(tShape), -1, o.C - 1).map((t) => (t.every((v) => v < 0) ? [0, ...t.slice(1)] : t)),
        w: fc.array(fc.double({ min: 0.2, max: 2, noNaN: true }), { minLength: o.C, maxLength: o.C }),
        tShape: fc.constant(tShape),
      });
    });
    await fc.assert(fc.asyncProperty(arb, async ({ o, x, t, w, tShape }) => {
      const target = F.tensor(t.map((v) => (v < 0 ? -100 : v)), tShape, { dtype: 'int32' });
      const weight = o.weighted ? F.tensor(w, [o.C], { dtype: 'float64' }) : null;
      await gradcheck(([inp]) => F.crossEntropy(inp, target, { weight, labelSmoothing: o.smoothing, reduction: o.reduction }), [x], o.seed);
    }), RUNS);
  });

  it('crossEntropy with probability targets, and nllLoss', async () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 2, max: 4 }),
      smoothing: fc.constantFrom(0, 0.2),
      reduction: fc.constantFrom('mean', 'sum', 'none') as fc.Arbitrary<F.Reduction>,
      seed: seedArb,
    }).chain((o) => fc.record({
      o: fc.constant(o),
      x: inputArb([o.N, o.C], false),
      p: inputArb([o.N, o.C], false),
      t: intsIn(o.N, 0, o.C - 1),
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ o, x, p, t }) => {
      const probs = F.softmax(F.tensor(p.data, p.shape, { dtype: 'float64' }), 1);
      await gradcheck(([inp]) => F.crossEntropy(inp, probs, { labelSmoothing: o.smoothing, reduction: o.reduction }), [x], o.seed);
      const target = F.tensor(t, [o.N], { dtype: 'int32' });
      await gradcheck(([inp]) => F.nllLoss(inp, target, { reduction: o.reduction }), [x], o.seed);
    }), RUNS);
  });

  it('layerNorm over 1..rank trailing dims, with and without weight and bias', async () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.record({
      x: inputArb(shape, true),
      k: fc.integer({ min: 1, max: shape.length }),
      affine: fc.constantFrom('none', 'weight', 'both'),
      seed: seedArb,
    }).chain((r) => {
      const ns = shape.slice(shape.length - r.k);
      return fc.record({ r: fc.constant(r), ns: fc.constant(ns), w: inputArb(ns, false), b: inputArb(ns, false) });
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ r, ns, w, b }) => {
      const inputs = [r.x, ...(r.affine !== 'none' ? [w] : []), ...(r.affine === 'both' ? [b] : [])];
      await gradcheck((ts) => F.layerNorm(ts[0], ns, ts[1] ?? null, ts[2] ?? null), inputs, r.seed);
    }), RUNS);
  });

  it('batchNorm in training (batch statistics) and eval (running statistics)', async () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 3 }),
      C: fc.integer({ min: 1, max: 3 }),
      spatial: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      training: fc.boolean(),
      affine: fc.boolean(),
      seed: seedArb,
    }).filter((o) => !o.training || o.N * numel(o.spatial) > 1).chain((o) => fc.record({
      o: fc.constant(o),
      x: inputArb([o.N, o.C, ...o.spatial], true),
      w: inputArb([o.C], false),
      b: inputArb([o.C], false),
      rm: valuesFor([o.C]),
      rv: fc.array(fc.double({ min: 0.3, max: 2, noNaN: true }), { minLength: o.C, maxLength: o.C }),
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ o, x, w, b, rm, rv }) => {
      // Fresh running stats per call: a training call replaces their contents.
      const stats = (): [Tensor, Tensor] => [F.tensor(rm, [o.C], { dtype: 'float64' }), F.tensor(rv, [o.C], { dtype: 'float64' })];
      await gradcheck((ts) => F.batchNorm(ts[0], ...stats(), ts[1] ?? null, ts[2] ?? null, { training: o.training, eps: 1e-3 }),
        o.affine ? [x, w, b] : [x], o.seed);
    }), RUNS);
  });

  it('gather, indexSelect, embedding and scatterAdd with repeated indices', async () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.record({
      shape: fc.constant(shape),
      x: inputArb(shape, true),
      dim: fc.integer({ min: 0, max: shape.length - 1 }),
      seed: seedArb,
    }).chain((r) => {
      // gather/scatter index: no larger than x outside dim, any size along dim.
      const idxShape = shape.map((d, i) => (i === r.dim ? 3 : d));
      return fc.record({
        r: fc.constant(r),
        idxShape: fc.constant(idxShape),
        idx: intsIn(numel(idxShape), 0, shape[r.dim] - 1),
        sel: intsIn(3, 0, shape[r.dim] - 1),
        src: inputArb(idxShape, false),
      });
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ r, idxShape, idx, sel, src }) => {
      const index = F.tensor(idx, idxShape, { dtype: 'int32' });
      const index1 = F.tensor(sel, [3], { dtype: 'int32' });
      await gradcheck(([t]) => F.gather(t, r.dim, index), [r.x], r.seed);
      await gradcheck(([t]) => F.indexSelect(t, r.dim, index1), [r.x], r.seed);
      await gradcheck(([t, s]) => F.scatterAdd(t, r.dim, index, s), [r.x, src], r.seed);
      // (paddingIdx deliberately cuts the gradient, so it is checked against torch in nn.test.ts instead.)
      if (r.shape.length === 2 && r.dim === 0) await gradcheck(([t]) => F.embedding(index1, t), [r.x], r.seed);
    }), RUNS);
  });

  it('concat, stack and pad (with cropping)', async () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.record({
      shape: fc.constant(shape),
      a: inputArb(shape, true),
      b: inputArb(shape, false),
      dim: fc.integer({ min: -shape.length, max: shape.length - 1 }),
      extra: fc.integer({ min: 1, max: 3 }),
      pads: fc.array(fc.integer({ min: -1, max: 2 }), { minLength: 2 * shape.length, maxLength: 2 * shape.length }),
      nPad: fc.integer({ min: 1, max: shape.length }),
      value: value,
      seed: seedArb,
    }).chain((r) => {
      const d = r.dim < 0 ? r.dim + shape.length : r.dim;
      const cShape = shape.map((s, i) => (i === d ? r.extra : s));
      return fc.record({ r: fc.constant(r), c: inputArb(cShape, true) });
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ r, c }) => {
      await gradcheck(([a, b, cc]) => F.concat([a, b, cc], r.dim), [r.a, r.b, c], r.seed);
      await gradcheck(([a, b]) => F.stack([a, b], r.dim), [r.a, r.b], r.seed);
      // Crop at most size − 1 per dim in total so the output keeps at least one element there.
      const pads = r.pads.slice(0, 2 * r.nPad);
      for (let p = 0; p < r.nPad; p++) {
        const size = r.shape[r.shape.length - 1 - p];
        if (size + pads[2 * p] + pads[2 * p + 1] < 1) pads[2 * p] = pads[2 * p + 1] = 0;
      }
      await gradcheck(([a]) => F.pad(a, pads, { value: r.value }), [r.a], r.seed);
    }), RUNS);
  });

  it('scaledDotProductAttention with masks, causal masking and batch broadcasting', async () => {
    const arb = fc.record({
      B: fc.integer({ min: 1, max: 2 }),
      L: fc.integer({ min: 1, max: 3 }),
      S: fc.integer({ min: 1, max: 3 }),
      E: fc.integer({ min: 1, max: 3 }),
      Ev: fc.integer({ min: 1, max: 3 }),
      mask: fc.constantFrom('none', 'causal', 'float', 'bool'),
      scale: fc.option(fc.double({ min: 0.1, max: 2, noNaN: true }), { nil: undefined }),
      seed: seedArb,
    }).chain((o) => fc.record({
      o: fc.constant(o),
      q: inputArb([o.B, o.L, o.E], true),
      k: inputArb([1, o.S, o.E], false),
      v: inputArb([o.B, o.S, o.Ev], true),
      fmask: valuesFor([o.L, o.S]),
      // Every query keeps key 0 (as the causal mask does), so no row is fully masked.
      bmask: intsIn(o.L * o.S, 0, 1).map((m) => m.map((v, i) => (i % o.S === 0 ? 1 : v))),
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ o, q, k, v, fmask, bmask }) => {
      const attnMask = o.mask === 'float' ? F.tensor(fmask, [o.L, o.S], { dtype: 'float64' })
        : o.mask === 'bool' ? F.tensor(bmask, [o.L, o.S], { dtype: 'int32' }) : null;
      await gradcheck(([qq, kk, vv]) => F.scaledDotProductAttention(qq, kk, vv, { attnMask, isCausal: o.mask === 'causal', scale: o.scale }),
        [q, k, v], o.seed);
    }), RUNS);
  });

  it('fails on a wrong gradient (the check itself can fail)', async () => {
    // softmax's value with logSoftmax's gradient rule grafted on through a custom composition.
    const wrong = (x: Tensor): Tensor => F.add(F.softmax(x.detach(), 0), F.sub(x, x.detach()));
    await expect(gradcheck(([t]) => wrong(t), [{ shape: [3], data: [0.1, -0.5, 0.9] }], 7)).rejects.toThrow(/gradcheck: input 0 .* analytic .* numeric/);
  });
});
