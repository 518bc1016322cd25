// Property tests (fast-check) for the nn ops over random shapes, dims, strides and indices: identities
// that must hold whatever the input (softmax rows sum to 1, a one-hot probability target is the same loss
// as its class index, causal masking is a tril boolean mask, concat undoes slicing, ...), and the
// indexing ops against plain host loops.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import type { Tensor } from '../../index';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';

const RUNS = { numRuns: 60, seed: 424242 };
const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
const value = fc.double({ min: -3, max: 3, noNaN: true, noDefaultInfinity: true });
const shapeArb = (minRank: number, maxRank: number, maxDim = 4) =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
const dataFor = (shape: readonly number[]) => fc.array(value, { minLength: numel(shape), maxLength: numel(shape) });
const f64 = (data: number[], shape: readonly number[]): Tensor => F.tensor(data, shape, { dtype: 'float64' });
const i32 = (data: number[], shape: readonly number[]): Tensor => F.tensor(data, shape, { dtype: 'int32' });

async function same(a: Tensor, b: Tensor, tol = TOL.nnIdentityF64, what = 'values'): Promise<void> {
  expect(a.shape, `${what}: shape`).toEqual(b.shape);
  expectClose(await a.data(), await b.data(), tol, what);
}

/** Row-major multi-index of flat position i in shape. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}
const ravel = (idx: readonly number[], shape: readonly number[]): number => idx.reduce((acc, v, d) => acc * shape[d] + v, 0);

describe('softmax / logSoftmax properties', () => {
  it('rows sum to 1, softmax = exp(logSoftmax), shift invariance, and strided input = its contiguous copy', async () => {
    const arb = shapeArb(1, 4).chain((shape) => fc.record({
      shape: fc.constant(shape),
      data: dataFor(shape),
      dim: fc.integer({ min: -shape.length, max: shape.length - 1 }),
      shift: value,
      flipDim: fc.integer({ min: 0, max: shape.length - 1 }),
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ shape, data, dim, shift, flipDim }) => {
      // A flipped, transposed view exercises negative and permuted strides.
      const base = f64(data, shape);
      const x = shape.length > 1 ? F.transpose(F.flip(base, flipDim), 0, -1) : F.flip(base, 0);
      const y = F.softmax(x, dim);
      expect(y.shape).toEqual(x.shape);
      await same(F.sum(y, dim), F.onesLike(F.sum(x, dim)), TOL.nnIdentityF64, 'row sums');
      await same(y, F.exp(F.logSoftmax(x, dim)), TOL.nnIdentityF64, 'softmax vs exp(logSoftmax)');
      await same(F.softmax(F.add(x, shift), dim), y, TOL.nnIdentityF64, 'shift invariance');
      await same(F.softmax(F.contiguous(x), dim), y, TOL.exact, 'strided vs contiguous');
    }), RUNS);
  });
});

describe('loss properties', () => {
  it('a one-hot probability target gives the index-target loss (sum / none with weights, mean without)', async () => {
    const arb = fc.record({ N: fc.integer({ min: 1, max: 4 }), C: fc.integer({ min: 2, max: 5 }), d: fc.integer({ min: 1, max: 3 }),
      smoothing: fc.constantFrom(0, 0.1, 0.3) }).chain((o) => fc.record({
      o: fc.constant(o),
      x: dataFor([o.N, o.C, o.d]),
      t: fc.array(fc.integer({ min: 0, max: o.C - 1 }), { minLength: o.N * o.d, maxLength: o.N * o.d }),
      w: fc.array(fc.double({ min: 0.1, max: 3, noNaN: true }), { minLength: o.C, maxLength: o.C }),
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ o, x, t, w }) => {
      const input = f64(x, [o.N, o.C, o.d]);
      const target = i32(t, [o.N, o.d]);
      const oneHot = new Array<number>(o.N * o.C * o.d).fill(0);
      t.forEach((c, i) => (oneHot[ravel([Math.floor(i / o.d), c, i % o.d], [o.N, o.C, o.d])] = 1));
      const probs = f64(oneHot, [o.N, o.C, o.d]);
      const weight = f64(w, [o.C]);
      for (const reduction of ['sum', 'none'] as const) {
        await same(F.crossEntropy(input, target, { weight, reduction, labelSmoothing: o.smoothing }),
          F.crossEntropy(input, probs, { weight, reduction, labelSmoothing: o.smoothing }), TOL.nnIdentityF64, reduction);
      }
      await same(F.crossEntropy(input, target, { labelSmoothing: o.smoothing }), F.crossEntropy(input, probs, { labelSmoothing: o.smoothing }), TOL.nnIdentityF64, 'mean');
      // crossEntropy = nllLoss of logSoftmax over the class dim.
      await same(F.crossEntropy(input, target, { weight }), F.nllLoss(F.logSoftmax(input, 1), target, { weight }), TOL.nnIdentityF64, 'nll');
    }), RUNS);
  });

  it('ignored targets drop out: the loss equals the loss over the kept samples only', async () => {
    const arb = fc.record({ N: fc.integer({ min: 2, max: 5 }), C: fc.integer({ min: 2, max: 4 }) }).chain((o) => fc.record({
      o: fc.constant(o),
      x: dataFor([o.N, o.C]),
      t: fc.array(fc.integer({ min: 0, max: o.C - 1 }), { minLength: o.N, maxLength: o.N }),
      ignored: fc.array(fc.boolean(), { minLength: o.N, maxLength: o.N }).filter((m) => m.some((v) => !v)),
      w: fc.array(fc.double({ min: 0.1, max: 3, noNaN: true }), { minLength: o.C, maxLength: o.C }),
      smoothing: fc.constantFrom(0, 0.2),
      reduction: fc.constantFrom('mean', 'sum') as fc.Arbitrary<F.Reduction>,
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ o, x, t, ignored, w, smoothing, reduction }) => {
      const kept = t.map((_, i) => i).filter((i) => !ignored[i]);
      const all = F.crossEntropy(f64(x, [o.N, o.C]), i32(t.map((c, i) => (ignored[i] ? -100 : c)), [o.N]),
        { weight: f64(w, [o.C]), labelSmoothing: smoothing, reduction });
      const only = F.crossEntropy(f64(kept.flatMap((i) => x.slice(i * o.C, (i + 1) * o.C)), [kept.length, o.C]), i32(kept.map((i) => t[i]), [kept.length]),
        { weight: f64(w, [o.C]), labelSmoothing: smoothing, reduction });
      await same(all, only);
    }), RUNS);
  });
});

describe('normalisation properties', () => {
  it('layerNorm = (x − mean)/sqrt(biased var + eps)·w + b over the trailing dims, on strided input', async () => {
    const arb = shapeArb(1, 4).chain((shape) => fc.record({
      shape: fc.constant(shape),
      data: dataFor(shape),
      k: fc.integer({ min: 1, max: shape.length }),
      eps: fc.constantFrom(1e-5, 0.1),
    }).chain((r) => fc.record({ r: fc.constant(r), w: dataFor(shape.slice(shape.length - r.k)), b: dataFor(shape.slice(shape.length - r.k)) })));
    await fc.assert(fc.asyncProperty(arb, async ({ r, w, b }) => {
      const rank = r.shape.length;
      const base = f64(r.data, r.shape);
      const x = rank > 1 ? F.contiguous(F.flip(base, 0)) : base;
      const xs = rank > 1 ? F.flip(base, 0) : base; // same values, negative stride
      const ns = r.shape.slice(rank - r.k);
      const axes = ns.map((_, i) => rank - r.k + i);
      const mu = F.mean(x, axes, true);
      const v = F.variance(x, axes, { correction: 0, keepDim: true });
      const want = F.add(F.mul(F.div(F.sub(x, mu), F.sqrt(F.add(v, r.eps))), f64(w, ns)), f64(b, ns));
      await same(F.layerNorm(xs, ns, f64(w, ns), f64(b, ns), r.eps), want);
    }), RUNS);
  });

  it('batchNorm training normalises with batch stats; momentum 1 stores the batch mean and unbiased variance', async () => {
    const arb = fc.record({ N: fc.integer({ min: 2, max: 3 }), C: fc.integer({ min: 1, max: 3 }), spatial: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }) })
      .chain((o) => fc.record({ o: fc.constant(o), x: dataFor([o.N, o.C, ...o.spatial]) }));
    await fc.assert(fc.asyncProperty(arb, async ({ o, x: data }) => {
      const shape = [o.N, o.C, ...o.spatial];
      const x = f64(data, shape);
      const axes = shape.map((_, i) => i).filter((i) => i !== 1);
      const rm = F.zeros([o.C], { dtype: 'float64' });
      const rv = F.ones([o.C], { dtype: 'float64' });
      const y = F.batchNorm(x, rm, rv, null, null, { training: true, momentum: 1, eps: 1e-5 });
      const mu = F.mean(x, axes, true);
      const want = F.div(F.sub(x, mu), F.sqrt(F.add(F.variance(x, axes, { correction: 0, keepDim: true }), 1e-5)));
      await same(y, want, TOL.nnIdentityF64, 'output');
      await same(rm, F.mean(x, axes), TOL.nnIdentityF64, 'running mean');
      await same(rv, F.variance(x, axes), TOL.nnIdentityF64, 'running var (unbiased)');
      // Eval with the batch mean and the biased batch variance as running stats reproduces training.
      const rvBiased = F.variance(x, axes, { correction: 0 });
      await same(F.batchNorm(x, rm, rvBiased, null, null, { eps: 1e-5 }), y, TOL.nnIdentityF64, 'eval with batch stats');
    }), RUNS);
  });
});

describe('indexing properties', () => {
  it('gather, indexSelect and embedding agree with host loops (repeated indices, strided x)', async () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.record({
      shape: fc.constant(shape),
      data: dataFor(shape),
      dim: fc.integer({ min: 0, max: shape.length - 1 }),
      along: fc.integer({ min: 1, max: 5 }),
    }).chain((r) => {
      const idxShape = r.shape.map((d, i) => (i === r.dim ? r.along : Math.max(1, d - 1)));
      return fc.record({
        r: fc.constant(r),
        idxShape: fc.constant(idxShape),
        idx: fc.array(fc.integer({ min: 0, max: r.shape[r.dim] - 1 }), { minLength: numel(idxShape), maxLength: numel(idxShape) }),
      });
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ r, idxShape, idx }) => {
      const x = F.flip(f64(r.data, r.shape), r.dim); // x[i] = data[n-1-i] along dim
      const xHost = await x.data();
      const want = idx.map((v, i) => {
        const pos = unravel(i, idxShape);
        pos[r.dim] = v;
        return xHost[ravel(pos, r.shape)];
      });
      await same(F.gather(x, r.dim, i32(idx, idxShape)), f64(want, idxShape), TOL.exact, 'gather');
      const sel = idx.slice(0, r.along);
      const selShape = r.shape.map((d, i) => (i === r.dim ? sel.length : d));
      const wantSel = Array.from({ length: numel(selShape) }, (_, i) => {
        const pos = unravel(i, selShape);
        pos[r.dim] = sel[pos[r.dim]];
        return xHost[ravel(pos, r.shape)];
      });
      await same(F.indexSelect(x, r.dim, i32(sel, [sel.length])), f64(wantSel, selShape), TOL.exact, 'indexSelect');
      if (r.shape.length === 2 && r.dim === 0) {
        await same(F.embedding(i32(sel, [1, sel.length]), x), F.reshape(F.indexSelect(x, 0, i32(sel, [sel.length])), [1, sel.length, r.shape[1]]), TOL.exact, 'embedding');
      }
    }), RUNS);
  });

  it('scatterAdd accumulates repeated indices like a host loop', async () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.record({ shape: fc.constant(shape), dim: fc.integer({ min: 0, max: shape.length - 1 }) }).chain((r) => {
      const idxShape = r.shape.map((d, i) => (i === r.dim ? 4 : d));
      return fc.record({
        r: fc.constant(r), idxShape: fc.constant(idxShape), x: dataFor(r.shape), src: dataFor(idxShape),
        idx: fc.array(fc.integer({ min: 0, max: r.shape[r.dim] - 1 }), { minLength: numel(idxShape), maxLength: numel(idxShape) }),
      });
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ r, idxShape, x, src, idx }) => {
      const want = [...x];
      idx.forEach((v, i) => {
        const pos = unravel(i, idxShape);
        pos[r.dim] = v;
        want[ravel(pos, r.shape)] += src[i];
      });
      await same(F.scatterAdd(f64(x, r.shape), r.dim, i32(idx, idxShape), f64(src, idxShape)), f64(want, r.shape), TOL.nnIdentityF64);
    }), RUNS);
  });

  it('concat undoes slicing, stack = concat of unsqueezed, pad then un-pad is the identity', async () => {
    const arb = shapeArb(1, 3).chain((shape) => fc.record({
      shape: fc.constant(shape),
      data: dataFor(shape),
      dim: fc.integer({ min: 0, max: shape.length - 1 }),
      cut: fc.integer({ min: 0, max: 4 }),
      pads: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 2 * shape.length, maxLength: 2 * shape.length }),
      value: value,
    }));
    await fc.assert(fc.asyncProperty(arb, async ({ shape, data, dim, cut, pads, value: v }) => {
      const x = F.transpose(f64(data, shape), 0, -1); // strided
      const n = x.shape[dim];
      const c = Math.min(cut, n);
      await same(F.concat([F.slice(x, dim, 0, c), F.slice(x, dim, c)], dim), x, TOL.exact, 'concat of slices');
      await same(F.cat([x, x], -1), F.concat([x, x], x.rank - 1), TOL.exact, 'cat alias');
      // torch's legacy rule: 1-D empty tensors are skipped whatever the other shapes.
      await same(F.concat([F.zeros([0], { dtype: 'float64' }), x, F.zeros([0], { dtype: 'float64' })], dim), x, TOL.exact, 'legacy empty');
      const s = F.stack([x, F.neg(x)], dim);
      expect(s.shape).toEqual([...x.shape.slice(0, dim), 2, ...x.shape.slice(dim)]);
      await same(s, F.concat([F.unsqueeze(x, dim), F.unsqueeze(F.neg(x), dim)], dim), TOL.exact, 'stack');
      const padded = F.pad(x, pads, { value: v });
      expect(padded.shape).toEqual(x.shape.map((d, i) => d + pads[2 * (x.rank - 1 - i)] + pads[2 * (x.rank - 1 - i) + 1]));
      await same(F.pad(padded, pads.map((p) => -p)), x, TOL.exact, 'pad then crop');
      const border = F.sum(padded).sub(F.sum(x));
      await same(border, F.mul(F.ones([], { dtype: 'float64' }), v * (padded.size - x.size)), TOL.nnIdentityF64, 'border holds the value');
    }), RUNS);
  });
});

describe('attention properties', () => {
  it('isCausal = a boolean tril mask; an all-keep or all-zero mask = no mask; scale = pre-scaled q', async () => {
    const arb = fc.record({ L: fc.integer({ min: 1, max: 4 }), S: fc.integer({ min: 1, max: 4 }), E: fc.integer({ min: 1, max: 4 }),
      scale: fc.double({ min: 0.1, max: 2, noNaN: true }) })
      .chain((o) => fc.record({ o: fc.constant(o), q: dataFor([2, o.L, o.E]), k: dataFor([2, o.S, o.E]), v: dataFor([2, o.S, 3]) }));
    await fc.assert(fc.asyncProperty(arb, async ({ o, q: qd, k: kd, v: vd }) => {
      const [q, k, v] = [f64(qd, [2, o.L, o.E]), f64(kd, [2, o.S, o.E]), f64(vd, [2, o.S, 3])];
      const tril = i32(Array.from({ length: o.L * o.S }, (_, i) => (i % o.S <= Math.floor(i / o.S) ? 1 : 0)), [o.L, o.S]);
      const plain = F.scaledDotProductAttention(q, k, v);
      await same(F.scaledDotProductAttention(q, k, v, { isCausal: true }), F.scaledDotProductAttention(q, k, v, { attnMask: tril }), TOL.exact, 'causal');
      await same(F.scaledDotProductAttention(q, k, v, { attnMask: F.ones([o.L, o.S], { dtype: 'int32' }) }), plain, TOL.exact, 'all-keep');
      await same(F.scaledDotProductAttention(q, k, v, { attnMask: F.zeros([1, o.S], { dtype: 'float64' }) }), plain, TOL.exact, 'zero additive');
      await same(F.scaledDotProductAttention(q, k, v, { attnMask: F.ones([o.L, o.S], { dtype: 'float64' }), attnMaskKind: 'boolean' }), plain, TOL.exact, 'float 0/1 as boolean');
      await same(F.scaledDotProductAttention(q, k, v, { scale: o.scale }), F.scaledDotProductAttention(F.mul(q, o.scale * Math.sqrt(o.E)), k, v), TOL.nnIdentityF64, 'scale');
    }), RUNS);
  });
});

describe('lifetimes', () => {
  it('every op keeps what its backward reads alive when tidy() frees the intermediates', async () => {
    const x = F.tensor([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]], undefined, { requiresGrad: true });
    const w = F.tensor([0.5, 1.5, -1.0], undefined, { requiresGrad: true });
    const idx = F.tensor([[2, 0], [1, 1]], undefined, { dtype: 'int32' });
    // A fresh view of x that no node saves: tidy() really frees it, so a backward rule that reads it
    // without listing it in `saved` fails.
    const x2 = (): Tensor => F.reshape(F.transpose(F.transpose(x, 0, 1), 0, 1), [2, 3]);
    const losses: Array<() => Tensor> = [
      () => F.softmax(x2(), 0),
      () => F.logSoftmax(x2(), 1),
      () => F.crossEntropy(x2(), F.tensor([2, 0], undefined, { dtype: 'int32' }), { labelSmoothing: 0.1 }),
      () => F.layerNorm(x2(), [3], w, w),
      () => F.batchNorm(x2(), F.zeros([3]), F.ones([3]), w, null, { training: true }),
      () => F.batchNorm(x2(), F.zeros([3]), F.ones([3]), w, null),
      () => F.gather(x2(), 1, F.reshape(idx, [2, 2])),
      () => F.indexSelect(x2(), 1, F.tensor([2, 2], undefined, { dtype: 'int32' })),
      () => F.embedding(F.tensor([1, 0, 1], undefined, { dtype: 'int32' }), x2(), { paddingIdx: 0 }),
      () => F.scatterAdd(x2(), 1, F.reshape(idx, [2, 2]), F.mul(x, 3)),
      () => F.concat([x2(), x], 0),
      () => F.pad(x2(), [1, -1]),
      () => F.scaledDotProductAttention(x2(), x, x, { isCausal: true }),
    ];
    for (const [i, make] of losses.entries()) {
      const loss = F.tidy(() => {
        const y = make();
        return F.sum(F.mul(y, F.reshape(F.arange(1, 1 + y.size), y.shape)));
      });
      const [gx] = F.grad(loss, [x]);
      expect(gx!.shape, `loss ${i}`).toEqual([2, 3]);
      expect((await gx!.data()).every(Number.isFinite), `loss ${i}: finite gradient`).toBe(true);
    }
  });
});
