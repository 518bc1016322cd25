// SGD / Adam / AdamW against torch.optim (fixture: test/reference/optim.py → test/fixtures/optim/optim.json),
// plus their contracts: option checking, skipped parameters, zeroGrad, no autograd recording, in-place
// updates that keep the parameter objects, state surviving tidy scopes.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import type { Tensor } from '../../index';

interface Case {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, unknown>;
  dtype: 'float32' | 'float64';
  losses: number[];
  after: Record<string, number[]>[];
}
interface Fixture {
  steps: number;
  init: Record<string, { shape: number[]; values: number[] }>;
  cases: Case[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/optim/optim.json', import.meta.url), 'utf8')) as Fixture;
const NAMES = ['W', 'b', 'c', 'u'] as const;

// Tolerances on |ours − torch| ≤ atol + rtol·|torch|, per parameter entry after each step (values are O(0.01–1)).
//  float64: both sides do the same float64 arithmetic up to operation order (≈1e-16 per operation); observed
//           differences are ≤ 1.2e-16. 1e-12 leaves room for a different summation order, while a slip in a
//           formula (bias correction, update order, decay) moves values by ≥ 1e-5, ten million times more.
//  float32: the gradients themselves differ from torch's by float32 rounding (≈1e-7 relative: different
//           summation order in matmul/mean, scalars rounded to float32 by torch but not by us). Every gradient
//           component is ≥ 1e-4 in magnitude (the generator asserts it), so Adam's normalised steps stay
//           well-conditioned: observed differences are ≤ 1.8e-7 (1.5 float32 ulps of 1); 2e-6 is ~10× that.
const TOL = {
  float64: { atol: 1e-12, rtol: 1e-12 },
  float32: { atol: 2e-6, rtol: 2e-6 },
};

function makeOptimizer(c: Case, params: Tensor[]): F.Optimizer<object> {
  const opts = c.options as never;
  const empty = Object.keys(c.options).length === 0;
  switch (c.optimizer) {
    case 'SGD': return new F.SGD(params, opts);
    case 'Adam': return empty ? new F.Adam(params) : new F.Adam(params, opts);
    case 'AdamW': return empty ? new F.AdamW(params) : new F.AdamW(params, opts);
  }
}

function setup(dtype: 'float32' | 'float64'): { p: Record<(typeof NAMES)[number], Tensor>; x: Tensor; y: Tensor } {
  const t = (k: string, requiresGrad: boolean): Tensor => F.tensor(fixture.init[k].values, fixture.init[k].shape, { dtype, requiresGrad });
  return {
    p: { W: t('W', true), b: t('b', true), c: t('c', true), u: t('u', true) },
    x: t('x', false),
    y: t('y', false),
  };
}

/** The fixture's loss: mean((tanh(x·W + b) − y)²) + 0.1·ΣW⁴ [+ Σ(c − 0.3)² on even steps]. */
function loss(p: Record<string, Tensor>, x: Tensor, y: Tensor, step: number): Tensor {
  let l = F.add(F.mean(F.square(F.sub(F.tanh(F.add(F.matmul(x, p.W), p.b)), y))), F.mul(F.sum(F.square(F.square(p.W))), 0.1));
  if (step % 2 === 0) l = F.add(l, F.sum(F.square(F.sub(p.c, 0.3))));
  return l;
}

async function maxExcess(t: Tensor, expected: number[], tol: { atol: number; rtol: number }): Promise<{ excess: number; diff: number }> {
  const got = await t.data();
  expect(got.length).toBe(expected.length);
  let excess = -Infinity, diff = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got[i] - expected[i]);
    diff = Math.max(diff, d);
    excess = Math.max(excess, d - (tol.atol + tol.rtol * Math.abs(expected[i])));
  }
  return { excess, diff };
}

describe('optimizers match torch.optim step by step', () => {
  for (const c of fixture.cases) {
    it(`${c.name} (${c.dtype})`, async () => {
      const tol = TOL[c.dtype];
      const { p, x, y } = setup(c.dtype);
      const params = NAMES.map((k) => p[k]);
      const u0 = Array.from(await p.u.data());
      const opt = makeOptimizer(c, params);
      let worst = 0;
      for (let s = 0; s < fixture.steps; s++) {
        opt.zeroGrad();
        const l = loss(p, x, y, s);
        l.backward();
        expect(Math.abs((await l.item()) - c.losses[s])).toBeLessThanOrEqual(tol.atol + tol.rtol * Math.abs(c.losses[s]));
        opt.step();
        for (const k of NAMES) {
          const { excess, diff } = await maxExcess(p[k], c.after[s][k], tol);
          worst = Math.max(worst, diff);
          if (excess > 0) throw new Error(`${c.name} ${c.dtype}: step ${s + 1}, param ${k} differs from torch by ${diff} (tolerance ${tol.atol} + ${tol.rtol}·|x|)`);
        }
      }
      // The parameters are the same objects, still leaves that require grad, with the same dtype.
      NAMES.forEach((k, i) => {
        expect(opt.params[i]).toBe(p[k]);
        expect(p[k].isLeaf).toBe(true);
        expect(p[k].gradFn).toBeNull();
        expect(p[k].requiresGrad).toBe(true);
        expect(p[k].dtype).toBe(c.dtype);
      });
      // u never had a gradient: untouched, and no state was made for it.
      expect(Array.from(await p.u.data())).toEqual(u0);
      expect(opt.stateOf(p.u)).toBeUndefined();
      // The check is not vacuous: the parameters moved by much more than the tolerance.
      expect(await maxExcess(p.W, fixture.init.W.values, { atol: 0, rtol: 0 }).then((r) => r.diff)).toBeGreaterThan(1e-3);
      expect(worst).toBeLessThan(c.dtype === 'float64' ? 1e-12 : 2e-6);
      opt.dispose();
    });
  }
});
