// The optimizers' contracts beyond the numbers: argument checking with errors that name the argument,
// zeroGrad in both modes, steps that record no autograd and keep parameter objects, state that survives
// tidy(), disposal. Expected values here are worked out by hand from torch.optim's formulas.
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import type { Tensor } from '../../index';

const param = (v: number[]): Tensor => F.tensor(v, undefined, { dtype: 'float64', requiresGrad: true });
const vals = async (t: Tensor | null): Promise<number[]> => Array.from(await t!.data());

describe('option checking', () => {
  const p = (): Tensor[] => [param([1, 2])];

  it('rejects bad SGD options, naming the option', () => {
    expect(() => new F.SGD(p(), {} as never)).toThrow(/SGD: options.lr .* is required/);
    expect(() => new F.SGD(p(), { lr: -0.1 })).toThrow(/SGD: lr must be a finite number ≥ 0, got -0.1/);
    expect(() => new F.SGD(p(), { lr: NaN })).toThrow(/SGD: lr must be a finite number/);
    expect(() => new F.SGD(p(), { lr: '0.1' as never })).toThrow(/SGD: lr must be a finite number ≥ 0, got "0.1"/);
    expect(() => new F.SGD(p(), { lr: 0.1, momentum: -1 })).toThrow(/SGD: momentum must be/);
    expect(() => new F.SGD(p(), { lr: 0.1, weightDecay: -1 })).toThrow(/SGD: weightDecay must be/);
    expect(() => new F.SGD(p(), { lr: 0.1, dampening: Infinity })).toThrow(/SGD: dampening must be/);
    expect(() => new F.SGD(p(), { lr: 0.1, nesterov: true })).toThrow(/SGD: nesterov needs momentum > 0 and dampening = 0/);
    expect(() => new F.SGD(p(), { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/nesterov needs/);
    expect(() => new F.SGD(p(), { lr: 0.1, nesterov: 1 as never })).toThrow(/SGD: nesterov must be true or false/);
    expect(() => new F.SGD(p(), { lr: 0.1, learningRate: 1 } as never)).toThrow(/SGD: unknown option 'learningRate'/);
    expect(() => new F.SGD(p(), null as never)).toThrow(/SGD: options must be an object/);
  });

  it('rejects bad Adam / AdamW options, naming the option', () => {
    for (const [name, Cls] of [['Adam', F.Adam], ['AdamW', F.AdamW]] as const) {
      expect(() => new Cls(p(), { lr: -1 })).toThrow(new RegExp(`${name}: lr must be a finite number ≥ 0`));
      expect(() => new Cls(p(), { betas: [1, 0.999] })).toThrow(new RegExp(`${name}: betas\\[0\\] must be a finite number in \\[0, 1\\), got 1`));
      expect(() => new Cls(p(), { betas: [0.9, -0.1] })).toThrow(new RegExp(`${name}: betas\\[1\\] must be`));
      expect(() => new Cls(p(), { betas: [0.9] as never })).toThrow(new RegExp(`${name}: betas must be a pair`));
      expect(() => new Cls(p(), { eps: -1e-8 })).toThrow(new RegExp(`${name}: eps must be`));
      expect(() => new Cls(p(), { weightDecay: -0.01 })).toThrow(new RegExp(`${name}: weightDecay must be`));
      expect(() => new Cls(p(), { amsgrad: 'yes' as never })).toThrow(new RegExp(`${name}: amsgrad must be true or false`));
      expect(() => new Cls(p(), { beta1: 0.9 } as never)).toThrow(new RegExp(`${name}: unknown option 'beta1'`));
    }
    // Boundaries that are allowed: lr 0, beta 0, eps 0.
    expect(() => new F.Adam(p(), { lr: 0, betas: [0, 0], eps: 0 })).not.toThrow();
  });

  it('rejects bad parameter lists', () => {
    const a = param([1]);
    expect(() => new F.SGD([], { lr: 1 })).toThrow(/SGD: params is empty/);
    expect(() => new F.Adam(a as never)).toThrow(/Adam: params must be an array \(or iterable\) of Tensors, got Tensor/);
    expect(() => new F.Adam([a, 3 as never])).toThrow(/Adam: params\[1\] must be a Tensor, got 3/);
    expect(() => new F.Adam([a, a])).toThrow(/Adam: params\[1\] appears more than once/);
    expect(() => new F.AdamW([F.mul(a, 2)])).toThrow(/AdamW: params\[0\] .* is not a leaf tensor/);
    expect(() => new F.SGD([F.tensor([1, 2], undefined, { dtype: 'int32' })], { lr: 1 })).toThrow(/SGD: params\[0\] has dtype int32/);
    // Any iterable works.
    expect(new F.SGD(new Set([a]), { lr: 1 }).params).toEqual([a]);
  });

  it('checks lr again at step time (it is a public, mutable field)', () => {
    const a = param([1]);
    const opt = new F.SGD([a], { lr: 0.1 });
    a.grad = F.tensor([1], undefined, { dtype: 'float64' });
    opt.lr = -1;
    expect(() => opt.step()).toThrow(/SGD: lr must be a finite number ≥ 0, got -1/);
  });
});

describe('step semantics', () => {
  it('updates in place: same Tensor object, new values, no autograd recorded', async () => {
    const w = param([1, -2]);
    const module = { weight: w }; // a holder of the reference, as an nn module would be
    const opt = new F.SGD([w], { lr: 0.5 });
    F.sum(F.square(w)).backward(); // grad = 2w = [2, -4]
    opt.step();
    expect(module.weight).toBe(w);
    expect(await vals(w)).toEqual([0, 0]); // 1 − 0.5·2, −2 + 0.5·4
    expect(w.isLeaf).toBe(true);
    expect(w.gradFn).toBeNull();
    expect(w.requiresGrad).toBe(true);
    // The updated parameter still takes part in autograd as a leaf.
    F.sum(F.mul(w, 3)).backward();
    expect(await vals(w.grad)).toEqual([2 + 3, -4 + 3]); // accumulated onto the old grad (not zeroed)
  });

  it('skips parameters without a gradient, and Adam counts steps per parameter', async () => {
    const a = param([1]), b = param([1]);
    const opt = new F.Adam([a, b], { lr: 0.1 });
    a.grad = F.tensor([0.5], undefined, { dtype: 'float64' });
    opt.step();
    expect(await vals(b)).toEqual([1]);
    expect(opt.stateOf(b)).toBeUndefined();
    expect(opt.stateOf(a)!.step).toBe(1);
    // First Adam step is −lr·sign(g) up to eps: m̂ = g, v̂ = g², so p − lr·g/(|g| + eps).
    expect((await vals(a))[0]).toBeCloseTo(1 - 0.1 * 0.5 / (0.5 + 1e-8), 15);
    b.grad = F.tensor([-2], undefined, { dtype: 'float64' });
    opt.step();
    expect(opt.stateOf(a)!.step).toBe(2);
    expect(opt.stateOf(b)!.step).toBe(1);
    expect((await vals(b))[0]).toBeCloseTo(1 + 0.1 * 2 / (2 + 1e-8), 15);
  });

  it('SGD momentum: the buffer starts as the first gradient, not zero', async () => {
    const a = param([0]);
    const opt = new F.SGD([a], { lr: 1, momentum: 0.9, dampening: 0.5 });
    a.grad = F.tensor([1], undefined, { dtype: 'float64' });
    opt.step(); // buf = 1 → p = −1
    opt.step(); // buf = 0.9·1 + 0.5·1 = 1.4 → p = −2.4
    expect((await vals(a))[0]).toBeCloseTo(-2.4, 14);
    expect(await vals(opt.stateOf(a)!.momentumBuffer)).toEqual([1.4]);
  });

  it('AdamW decays the parameter itself; lr 0 changes nothing', async () => {
    const a = param([2]);
    const opt = new F.AdamW([a], { lr: 0.1, weightDecay: 0.5 });
    a.grad = F.tensor([0], undefined, { dtype: 'float64' });
    opt.step(); // p·(1 − 0.05) = 1.9, and m = 0 so the Adam part is 0
    expect((await vals(a))[0]).toBeCloseTo(1.9, 14);
    opt.lr = 0;
    a.grad = F.tensor([3], undefined, { dtype: 'float64' });
    opt.step();
    expect((await vals(a))[0]).toBeCloseTo(1.9, 14);
  });

  it('rejects a gradient of the wrong shape', () => {
    const a = param([1, 2]);
    const opt = new F.SGD([a], { lr: 1 });
    a.grad = F.tensor([1, 2, 3], undefined, { dtype: 'float64' });
    expect(() => opt.step()).toThrow(/SGD.step: the gradient of a parameter of shape \[2\] \(float64\) has shape \[3\]/);
  });

  it('float32 parameters stay float32', async () => {
    const a = F.tensor([1, 2], undefined, { requiresGrad: true });
    const opt = new F.Adam([a]);
    F.sum(F.square(a)).backward();
    opt.step();
    expect(a.dtype).toBe('float32');
    expect(await a.data()).toBeInstanceOf(Float32Array);
  });
});

describe('zeroGrad, tidy and dispose', () => {
  it('zeroGrad() sets grads to null; zeroGrad(false) to zeros', async () => {
    const a = param([1, 2]), b = param([3]);
    const opt = new F.SGD([a, b], { lr: 1 });
    F.add(F.sum(a), F.sum(b)).backward();
    const old = a.grad!;
    opt.zeroGrad(false);
    expect(old.isDisposed).toBe(true);
    expect(await vals(a.grad)).toEqual([0, 0]);
    expect(a.grad!.dtype).toBe('float64');
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
  });

  it('state created inside tidy() survives it; dispose() frees it', async () => {
    const a = param([1]);
    const opt = new F.Adam([a], { lr: 0.1 });
    for (let s = 0; s < 3; s++) {
      F.tidy(() => {
        opt.zeroGrad();
        F.sum(F.square(a)).backward();
        opt.step();
      });
    }
    const st = opt.stateOf(a)!;
    expect(st.step).toBe(3);
    expect(st.expAvg.isDisposed).toBe(false);
    expect(a.isDisposed).toBe(false);
    expect((await vals(a))[0]).toBeLessThan(1);
    opt.dispose();
    expect(st.expAvg.isDisposed).toBe(true);
    expect(a.isDisposed).toBe(false);
    expect(() => opt.step()).toThrow(/Adam.step: this optimizer was disposed/);
  });
});
