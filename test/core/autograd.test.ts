// Autograd semantics on the CPU backend: grad() vs backward(), hooks, pruning, accumulation through
// residual graphs, retainGraph, noGrad, tidy and the lifetime of saved tensors, dispose.
import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import type { Tensor } from '../../index';
import { gradcheck } from '../helpers/gradcheck';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';

const runs = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed: 0xa17 });
const f64 = (data: number[], shape: number[], requiresGrad = true): Tensor => F.tensor(data, shape, { dtype: 'float64', requiresGrad });
const vals = async (t: Tensor | null | undefined): Promise<number[]> => Array.from(await t!.data());

afterEach(() => {
  vi.restoreAllMocks();
});

// ---------------------------------------------------------------- random DAGs

/**
 * A random program over two leaves a, b (same shape): node k applies a unary op to an earlier node or a
 * binary op to two earlier nodes, so values are reused (residual connections, diamonds) at random.
 */
interface Program { shape: number[]; nodes: [number, number, number][] }
const UN = [F.tanh, F.sigmoid, F.sin, (x: Tensor) => F.mul(x, 1.5), (x: Tensor) => F.sum(x, -1, true)];
const BIN = [F.add, F.sub, F.mul, (a: Tensor, b: Tensor) => F.div(a, F.add(F.square(b), 1))];

const programArb: fc.Arbitrary<Program> = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  nodes: fc.array(fc.tuple(fc.nat(99), fc.nat(99), fc.nat(99)), { minLength: 1, maxLength: 10 }),
});

/** Runs the program; returns every node (0 = a, 1 = b). */
function runProgram(p: Program, a: Tensor, b: Tensor): Tensor[] {
  const vs = [a, b];
  for (const [op, i, j] of p.nodes) {
    const x = vs[i % vs.length];
    const y = vs[j % vs.length];
    vs.push(op % 2 === 0 ? UN[(op >> 1) % UN.length](x) : BIN[(op >> 1) % BIN.length](x, y));
  }
  return vs;
}

const dataFor = (shape: readonly number[], seed: number): number[] =>
  Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(seed + 1.7 * i) * 1.5);

describe('grad() and backward()', () => {
  it('give the same gradients on the same random graph (leaves and a non-leaf), bit for bit', async () => {
    await fc.assert(fc.asyncProperty(programArb, fc.nat(1000), async (p, seed) => {
      const a = f64(dataFor(p.shape, seed), p.shape);
      const b = f64(dataFor(p.shape, seed + 1), p.shape);
      const vs = runProgram(p, a, b);
      const out = vs[vs.length - 1];
      const y = F.sum(F.mul(out, F.tensor(dataFor(out.shape, seed + 2), out.shape, { dtype: 'float64' })));
      const viaGrad = F.grad(y, [a, b], { retainGraph: true, allowUnused: true });
      y.backward();
      for (const [k, t] of [a, b].entries()) {
        if (viaGrad[k] === null) expect(t.grad, `leaf ${k} unused`).toBeNull();
        else expectClose(await vals(t.grad), await vals(viaGrad[k]), TOL.exact, `leaf ${k}`);
      }
      expect(viaGrad.some((g) => g !== null)).toBe(true);
    }), runs(150));
  });

  it('accumulate correctly through residual graphs (gradcheck of random programs that reuse values)', async () => {
    await fc.assert(fc.asyncProperty(programArb, fc.nat(1000), async (p, seed) => {
      const a = f64(dataFor(p.shape, seed), p.shape);
      const b = f64(dataFor(p.shape, seed + 1), p.shape);
      await gradcheck((x, y) => {
        const vs = runProgram(p, x, y);
        return vs[vs.length - 1];
      }, [a, b]);
    }), runs(60));
  });

  it('grad() of a non-leaf equals backward() of the part above it, rebuilt on a fresh leaf', async () => {
    const x = f64([0.3, -0.7, 1.1, 0.2], [2, 2]);
    const w1 = f64([0.5, -1, 2, 0.25], [2, 2]);
    const w2 = f64([1, 0.5, -0.5, 1.5], [2, 2]);
    const h = F.tanh(F.matmul(x, w1));
    const y = F.sum(F.sigmoid(F.matmul(h, w2)));
    const [gh] = F.grad(y, [h]);
    const h2 = f64(await vals(h), [2, 2]);
    F.sum(F.sigmoid(F.matmul(h2, w2))).backward();
    expectClose(await vals(gh), await vals(h2.grad), TOL.exact, 'dy/dh');
  });

  it('residual graphs: a value used twice gets the sum of both paths', async () => {
    const x = f64([1, 2, -3], [3]);
    F.sum(F.add(F.mul(x, x), x)).backward(); // d/dx (x² + x) = 2x + 1
    expect(await vals(x.grad)).toEqual([3, 5, -5]);
    const z = f64([0.5, -1], [2]);
    const h = F.exp(z);
    F.sum(F.add(F.mul(h, h), h)).backward(); // (2h + 1)·h
    expectClose(await vals(z.grad), [0.5, -1].map((v) => (2 * Math.exp(v) + 1) * Math.exp(v)), TOL.coreF64, 'non-leaf used twice');
  });

  it('backward() accumulates into .grad across calls, and leaves sharing one gradient stay independent', async () => {
    const a = f64([1, 2], [2]);
    const b = f64([3, 4], [2]);
    F.sum(F.add(a, b)).backward(); // add passes one gradient tensor to both inputs
    F.sum(F.mul(F.add(a, b), 2)).backward();
    expect(await vals(a.grad)).toEqual([3, 3]);
    expect(await vals(b.grad)).toEqual([3, 3]);
    expect(a.grad).not.toBe(b.grad);
    a.grad!.dispose();
    expect(await vals(b.grad)).toEqual([3, 3]);
    // the caller's gradOutput is not handed out as .grad either
    const c = f64([1, 1], [2]);
    const go = f64([5, 6], [2], false);
    F.add(c, 0).backward(go);
    expect(c.grad).not.toBe(go);
    c.grad!.dispose();
    expect(await vals(go)).toEqual([5, 6]);
  });

  it('grad() returns distinct tensors even where one gradient feeds several inputs', async () => {
    const a = f64([1, 2], [2]);
    const b = f64([3, 4], [2]);
    const go = f64([1, -1], [2], false);
    const [ga, gb] = F.grad(F.add(a, b), [a, b], { gradOutputs: [go] });
    expect(ga).not.toBe(gb);
    expect(ga).not.toBe(go);
    ga!.dispose();
    expect(await vals(gb)).toEqual([1, -1]);
    expect(await vals(go)).toEqual([1, -1]);
  });
});

// ---------------------------------------------------------------- hooks

describe('gradient hooks', () => {
  it('a leaf hook sees the total gradient once and can replace it; remove() stops it', async () => {
    const x = f64([1, 2, 3], [3]);
    const seen: Tensor[] = [];
    let calls = 0;
    const h = x.registerHook((g) => {
      calls++;
      seen.push(F.keep(F.mul(g, 1))); // a copy that outlives backward's scope
      return F.mul(g, 10);
    });
    F.sum(F.add(F.mul(x, 2), F.mul(x, 3))).backward(); // two paths into x: 2 + 3
    expect(calls).toBe(1);
    expect(await vals(seen[0])).toEqual([5, 5, 5]);
    expect(await vals(x.grad)).toEqual([50, 50, 50]);
    h.remove();
    x.grad = null;
    F.sum(F.mul(x, 2)).backward();
    expect(calls).toBe(1);
    expect(await vals(x.grad)).toEqual([2, 2, 2]);
  });

  it('a non-leaf hook sees the gradient flowing into that tensor and its replacement flows on (backward and grad)', async () => {
    const x = f64([1, -2], [2]);
    const h = F.mul(x, 3);
    let seen: number[] = [];
    const handle = h.registerHook((g) => {
      seen = [...g.shape];
      return F.mul(g, -1);
    });
    const y = F.sum(F.mul(h, h)); // dy/dh = 2h
    const [gx] = F.grad(y, [x], { retainGraph: true });
    expect(seen).toEqual([2]);
    expect(await vals(gx)).toEqual([-18, 36]); // -(2h)·3
    const [gh] = F.grad(y, [h], { retainGraph: true }); // the requested tensor's own hook applies too
    expect(await vals(gh)).toEqual([-6, 12]);
    handle.remove();
    y.backward();
    expect(await vals(x.grad)).toEqual([18, -36]);
  });

  it('a hook that returns nothing observes only; one returning a wrong shape is an error naming both shapes', () => {
    const x = f64([1, 2], [2]);
    let n = 0;
    x.registerHook(() => {
      n++;
    });
    F.sum(x).backward();
    expect(n).toBe(1);
    const z = f64([1, 2], [2]);
    z.registerHook(() => F.zeros([3], { dtype: 'float64' }));
    expect(() => F.sum(z).backward()).toThrow(/gradient hook on leaf: returned shape \[3\], expected \[2\]/);
    expect(() => f64([1], [1], false).registerHook(() => undefined)).toThrow(/registerHook: .*doesn't require gradients/);
  });
});

// ---------------------------------------------------------------- pruning

describe('pruned grad()', () => {
  /** x → f1 → f2 → f3 → y with weight matrices that require grad. */
  function chain(): { x: Tensor; ws: Tensor[]; hs: Tensor[]; y: Tensor } {
    const x = f64([0.1, 0.2, -0.3, 0.4, 0.5, -0.6], [2, 3]);
    const ws = [0, 1, 2].map((k) => f64(Array.from({ length: 9 }, (_, i) => Math.cos(i + 3 * k)), [3, 3]));
    const h1 = F.tanh(F.matmul(x, ws[0]));
    const h2 = F.tanh(F.matmul(h1, ws[1]));
    const h3 = F.tanh(F.matmul(h2, ws[2]));
    return { x, ws, hs: [h1, h2, h3], y: F.sum(h3) };
  }

  function countKernels(): { matmul: () => number } {
    const spy = vi.spyOn(F.cpuBackend, 'matmul');
    return { matmul: () => spy.mock.calls.length };
  }

  it('grad(y, [f2 output]) runs exactly the backward rules above f2 and computes no weight gradient', async () => {
    const { ws, hs, y } = chain();
    const k = countKernels();
    F.resetAutogradStats();
    const [g2] = F.grad(y, [hs[1]], { retainGraph: true });
    const pruned = { calls: F.autogradStats.backwardCalls, byOp: new Map(F.autogradStats.byOp), matmuls: k.matmul() };

    // The same computation above f2, rebuilt on a fresh leaf standing in for f2's output.
    const h2 = f64(await vals(hs[1]), [2, 3]);
    const y2 = F.sum(F.tanh(F.matmul(h2, ws[2])));
    const before = k.matmul();
    F.resetAutogradStats();
    const [g2ref] = F.grad(y2, [h2]);
    expect(pruned.calls).toBe(F.autogradStats.backwardCalls);
    expect(pruned.byOp).toEqual(F.autogradStats.byOp);
    expect(pruned.byOp.get('tanh')).toBe(1); // f3's tanh only, not f2's or f1's
    expect(pruned.byOp.get('matmul')).toBe(1);
    expect(pruned.matmuls).toBe(1); // dy/dh2 = g·W3ᵀ, and no dW3 = h2ᵀ·g
    expect(k.matmul() - before).toBe(1);
    expectClose(await vals(g2), await vals(g2ref), TOL.exact, 'dy/dh2');

    // Asking for the weight as well costs exactly one more product.
    const k0 = k.matmul();
    F.grad(y, [hs[1], ws[2]], { retainGraph: true });
    expect(k.matmul() - k0).toBe(2);
    // And for x: every layer's input gradient, still no weight gradient.
    const k1 = k.matmul();
    F.resetAutogradStats();
    F.grad(y, [hs[0]], { retainGraph: true });
    expect(k.matmul() - k1).toBe(2);
    expect(F.autogradStats.byOp.get('tanh')).toBe(2);
  });

  it('binary rules do strictly less work when only one input’s gradient is wanted', () => {
    const KERNELS = ['unary', 'binary', 'binaryScalar', 'where', 'reduce', 'clamp', 'cast'] as const;
    const spies = KERNELS.map((k) => vi.spyOn(F.cpuBackend, k));
    const kernelCalls = (): number => spies.reduce((n, s) => n + s.mock.calls.length, 0);
    // [name, op, whether d/da and d/db cost kernels of their own (sub's d/da is the incoming gradient itself)]
    const ops: [string, (a: Tensor, b: Tensor) => Tensor, boolean, boolean][] = [
      ['add', F.add, false, false], ['sub', F.sub, false, true], ['mul', F.mul, true, true], ['div', F.div, true, true],
      ['pow', F.pow, true, true], ['maximum', F.maximum, true, true], ['minimum', F.minimum, true, true],
    ];
    for (const [name, op, aWork, bWork] of ops) {
      const cost = (which: ('a' | 'b')[]): number => {
        const a = f64([0.5, 1.5, 2.5], [3]);
        const b = f64([1.25, 0.75, -0.5], [3]);
        const y = F.sum(op(a, b));
        const n0 = kernelCalls();
        F.grad(y, which.map((w) => (w === 'a' ? a : b)));
        return kernelCalls() - n0;
      };
      const both = cost(['a', 'b']);
      // leaving out an input whose gradient costs work must save that work
      if (bWork) expect(cost(['a']), `${name}: d/da alone vs both`).toBeLessThan(both);
      else expect(cost(['a']), `${name}: d/da alone vs both`).toBe(both);
      if (aWork) expect(cost(['b']), `${name}: d/db alone vs both`).toBeLessThan(both);
      else expect(cost(['b']), `${name}: d/db alone vs both`).toBe(both);
    }
  });

  it('inputs that do not lead to the outputs are an error unless allowUnused', () => {
    const a = f64([1], [1]);
    const b = f64([2], [1]);
    const y = F.sum(F.mul(a, 2));
    expect(() => F.grad(y, [a, b], { retainGraph: true })).toThrow(/grad: inputs\[1\] \(shape \[1\]\) was not used to compute the outputs; pass allowUnused/);
    const [ga, gb] = F.grad(y, [a, b], { allowUnused: true });
    expect(ga).not.toBeNull();
    expect(gb).toBeNull();
  });
});

// ---------------------------------------------------------------- graph lifetime

describe('retainGraph, noGrad, tidy, dispose', () => {
  it('without retainGraph a second backward throws; with it, it works and accumulates', async () => {
    const x = f64([1, 2], [2]);
    const y = F.sum(F.exp(x));
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expectClose(await vals(x.grad), [2 * Math.E, 2 * Math.exp(2)], TOL.coreF64, 'accumulated');
    expect(() => y.backward()).toThrow(/backward: trying to backward through the graph a second time \(through \w+\).*retainGraph: true/);
    const z = F.sum(F.exp(x));
    F.grad(z, [x]);
    expect(() => F.grad(z, [x])).toThrow(/grad: trying to backward through the graph a second time/);
  });

  it('noGrad records nothing', () => {
    const x = f64([1, 2], [2]);
    const y = F.noGrad(() => F.sum(F.mul(F.exp(x), x)));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(F.isGradEnabled()).toBe(true);
    expect(() => y.backward()).toThrow(/backward: the tensor does not require grad/);
    const z = F.noGrad(() => F.enableGrad(() => F.sum(x)));
    expect(z.requiresGrad).toBe(true);
  });

  it('tidy disposes what it created except the returned tensors (also inside arrays, objects and Maps)', () => {
    const outside = F.tensor([1, 2]);
    let inner: Tensor[] = [];
    const r = F.tidy(() => {
      const a = F.exp(outside);
      const b = F.mul(a, 2);
      const c = F.add(b, 1);
      const d = F.neg(c);
      const nested = F.tidy(() => {
        const t = F.sqrt(d.abs());
        inner = [a, b, t];
        return F.mul(t, 3);
      });
      expect(inner[2].isDisposed).toBe(true);
      expect(nested.isDisposed).toBe(false);
      return { list: [c], map: new Map([['d', d]]), nested };
    });
    expect(inner[0].isDisposed).toBe(true);
    expect(inner[1].isDisposed).toBe(true);
    expect(r.list[0].isDisposed).toBe(false);
    expect(r.map.get('d')!.isDisposed).toBe(false);
    expect(r.nested.isDisposed).toBe(false);
    expect(outside.isDisposed).toBe(false);
    // keep() exempts a tensor; a throwing fn still disposes its tensors
    let kept: Tensor | null = null;
    let lost: Tensor | null = null;
    expect(() => F.tidy(() => {
      kept = F.keep(F.exp(outside));
      lost = F.exp(outside);
      throw new Error('boom');
    })).toThrow('boom');
    expect(kept!.isDisposed).toBe(false);
    expect(lost!.isDisposed).toBe(true);
    expect(() => F.tidy((async () => F.tensor(1)) as unknown as () => Tensor)).toThrow(/tidy: fn returned a Promise/);
  });

  it('saved tensors survive tidy: forward inside, backward outside gives the right gradients', async () => {
    const x = f64([0.5, -1, 2], [3]);
    const w = f64([[1, 2], [3, 4], [5, 6]].flat(), [3, 2]);
    let intermediates: Tensor[] = [];
    const loss = F.tidy(() => {
      const e = F.exp(x);
      const h = F.mul(e, x); // saves e and x
      const s = F.sigmoid(F.matmul(h, w)); // saves its output
      intermediates = [e, h, s];
      return F.sum(F.mul(s, s));
    });
    expect(intermediates.every((t) => t.isDisposed)).toBe(true);
    loss.backward();
    // reference: the same graph outside tidy
    const x2 = f64([0.5, -1, 2], [3]);
    const w2 = f64([[1, 2], [3, 4], [5, 6]].flat(), [3, 2]);
    const s2 = F.sigmoid(F.matmul(F.mul(F.exp(x2), x2), w2));
    F.sum(F.mul(s2, s2)).backward();
    expectClose(await vals(x.grad), await vals(x2.grad), TOL.exact, 'x.grad');
    expectClose(await vals(w.grad), await vals(w2.grad), TOL.exact, 'w.grad');
    // disposed intermediates stay unusable for the caller, even while the graph holds their storage
    expect(() => F.add(intermediates[0], 1)).toThrow(/add: input: tensor #\d+ of shape \[3\] was disposed/);
  });

  it('a saved, disposed tensor’s storage is released when the graph is done with it, not before', () => {
    const release = vi.spyOn(F.cpuBackend, 'release');
    const x = f64([0.5, -1, 2], [3]);
    let e: Tensor | null = null;
    const loss = F.tidy(() => {
      e = F.exp(x); // saved by exp (as its output) and by mul
      return F.sum(F.mul(e, x));
    });
    const storage = e!.storage;
    const released = (): boolean => release.mock.calls.some(([s]) => s === storage);
    expect(e!.isDisposed).toBe(true);
    expect(released()).toBe(false);
    loss.backward();
    expect(released()).toBe(true);
  });

  it('dispose then use throws a clear error naming the op, the argument and the shape', async () => {
    const x = F.tensor([[1, 2, 3]]);
    x.dispose();
    x.dispose(); // idempotent
    expect(x.isDisposed).toBe(true);
    expect(() => F.add(x, 1)).toThrow(/^add: input: tensor #\d+ of shape \[1, 3\] was disposed and cannot be used$/);
    expect(() => F.matmul(F.ones([2, 1]), x)).toThrow(/matmul: other: tensor #\d+ of shape \[1, 3\] was disposed/);
    expect(() => F.sum(x)).toThrow(/sum: x: .*shape \[1, 3\] was disposed/);
    expect(() => x.reshape(3)).toThrow(/reshape: x: .*\[1, 3\] was disposed/);
    await expect(x.data()).rejects.toThrow(/data\(\): tensor #\d+ of shape \[1, 3\] was disposed/);
    const v = F.transpose(F.tensor([[1, 2, 3], [4, 5, 6]]), 0, 1);
    v.dispose();
    expect(() => v.contiguous()).toThrow(/contiguous: x: .*\[3, 2\] was disposed/);
    // a view outlives the disposal of the tensor it was taken from
    const t = F.tensor([1, 2, 3, 4]);
    const u = F.reshape(t, [2, 2]);
    t.dispose();
    expect(Array.from(await u.data())).toEqual([1, 2, 3, 4]);
  });
});
