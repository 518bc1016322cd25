// Property tests (fast-check) of the tensor core on the CPU backend:
//  * broadcasting: result shapes and values against an independent statement of the rule;
//  * views: every chain of view ops reads the elements an index-level reference says it should, contiguous()
//    and reshape() of the (non-contiguous) result copy them correctly, view() refuses exactly when reshape()
//    has to copy, and gradients flow back to the right elements of the base;
//  * gradients: every op's backward against float64 central differences on random shapes and values
//    (test/helpers/gradcheck.ts), including non-contiguous inputs and broadcasting.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';
import type { Tensor } from '../../index';
import { broadcastShapes } from '../../core/shape';
import { record } from '../../core/autograd';
import { gradcheck, GradcheckError } from '../helpers/gradcheck';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';

const SEED = 0x5eed;
const runs = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed: SEED });

// ---------------------------------------------------------------- small index helpers (the reference side)

const numel = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
  return flat;
}

const f64 = (data: ArrayLike<number>, shape: readonly number[], requiresGrad = false): Tensor =>
  F.tensor(Array.from(data), shape, { dtype: 'float64', requiresGrad });

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

// ---------------------------------------------------------------- broadcasting

/**
 * The broadcasting rule as NumPy states it, written independently of core/shape.ts: pad the shorter shape
 * with leading 1s; the result has in each dimension the larger of the two sizes, and the shapes are
 * compatible iff every size is either that or 1. (Sizes here are >= 1.)
 */
function refBroadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const pa = [...new Array<number>(n - a.length).fill(1), ...a];
  const pb = [...new Array<number>(n - b.length).fill(1), ...b];
  const out = pa.map((d, i) => Math.max(d, pb[i]));
  const fits = (p: number[]): boolean => p.every((d, i) => d === out[i] || d === 1);
  return fits(pa) && fits(pb) ? out : null;
}

/** The element of an input (shape s) that feeds output index idx (shape out): drop leading dims, 1 → 0. */
function project(idx: readonly number[], s: readonly number[]): number[] {
  const lead = idx.length - s.length;
  return s.map((d, i) => (d === 1 ? 0 : idx[i + lead]));
}

const smallShape = (maxRank: number, dims: number[] = [1, 2, 3]): fc.Arbitrary<number[]> =>
  fc.array(fc.constantFrom(...dims), { minLength: 0, maxLength: maxRank });

describe('broadcasting', () => {
  it('shapes: broadcastShapes and every binary op agree with the reference rule, or throw naming both shapes', () => {
    fc.assert(fc.property(smallShape(4), smallShape(4), (a, b) => {
      const want = refBroadcast(a, b);
      const A = F.zeros(a, { dtype: 'float64' });
      const B = F.zeros(b, { dtype: 'float64' });
      const ops: [string, () => Tensor][] = [
        ['add', () => F.add(A, B)], ['mul', () => F.mul(A, B)], ['pow', () => F.pow(A, B)],
        ['maximum', () => F.maximum(A, B)], ['lt', () => F.lt(A, B)], ['where', () => F.where(A, A, B)],
      ];
      if (want) {
        expect(broadcastShapes(a, b)).toEqual(want);
        for (const [, op] of ops) expect(op().shape).toEqual(want);
      } else {
        expect(() => broadcastShapes(a, b)).toThrow(/not broadcastable/);
        for (const [name, op] of ops) {
          expect(op).toThrow(new RegExp(`^${name}: .*${escape(fmt(a))}.*${escape(fmt(b))}.*not broadcastable`));
        }
      }
    }), runs(400));
  });

  it('values and gradients: out[i] = a[project(i)] ∘ b[project(i)], and each gradient sums over the broadcast', async () => {
    const compatible = fc.tuple(smallShape(4), smallShape(4)).filter(([a, b]) => refBroadcast(a, b) !== null);
    await fc.assert(fc.asyncProperty(compatible, fc.boolean(), async ([a, b], flipA) => {
      const out = refBroadcast(a, b)!;
      const ad = Array.from({ length: numel(a) }, (_, i) => i + 1);
      const bd = Array.from({ length: numel(b) }, (_, i) => 100 * (i + 1));
      const wd = Array.from({ length: numel(out) }, (_, i) => (i % 5) - 2);
      const A = f64(ad, a, true);
      const B = f64(bd, b, true);
      // optionally read `a` through a flipped (negative-stride) view: then a's data is reversed along dim 0
      const Av = flipA && a.length > 0 ? F.flip(A, 0) : A;
      const aAt = (idx: number[]): number => {
        const p = project(idx, a);
        if (flipA && a.length > 0) p[0] = a[0] - 1 - p[0];
        return ravel(p, a);
      };
      const y = F.mul(F.add(Av, B), F.tensor(wd, out, { dtype: 'float64' }));
      const wantY = new Array<number>(numel(out));
      const wantGA = new Array<number>(numel(a)).fill(0);
      const wantGB = new Array<number>(numel(b)).fill(0);
      for (let i = 0; i < numel(out); i++) {
        const idx = unravel(i, out);
        const ia = aAt(idx);
        const ib = ravel(project(idx, b), b);
        wantY[i] = (ad[ia] + bd[ib]) * wd[i];
        wantGA[ia] += wd[i];
        wantGB[ib] += wd[i];
      }
      expectClose(await y.data(), wantY, TOL.exact, 'values');
      F.sum(y).backward();
      expectClose(await A.grad!.data(), wantGA, TOL.exact, 'grad a');
      expectClose(await B.grad!.data(), wantGB, TOL.exact, 'grad b');
    }), runs(200));
  });
});

function escape(s: string): string {
  return s.replace(/[[\]().*+?^$|\\]/g, '\\$&');
}

// ---------------------------------------------------------------- views

/** A view as the reference sees it: its shape and, for each of its indices, the base index it reads. */
interface RefView {
  shape: number[];
  at: (idx: number[]) => number[];
}

type Step = { name: string; args: unknown[]; apply: (t: Tensor) => Tensor; ref: (v: RefView) => RefView };

/** Python slicing for a positive step, written out: the indices start, start+step, ... below end. */
function pySliceIndices(n: number, start: number, end: number | null, step: number): number[] {
  const norm = (i: number): number => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const out: number[] = [];
  for (let i = norm(start); i < (end === null ? n : norm(end)); i += step) out.push(i);
  return out;
}

function factorizations(n: number, parts: number, r: number): number[] {
  // split n into `parts` factors pseudo-randomly by r
  const primes: number[] = [];
  let m = n;
  for (let p = 2; m > 1; p++) while (m % p === 0) { primes.push(p); m /= p; }
  const out = new Array<number>(parts).fill(1);
  primes.forEach((p, i) => (out[(r + i * 7 + Math.floor(r / 3) * i) % parts] *= p));
  return out;
}

/** Turns four random naturals into a view step that is valid for `shape` (or null if none is). */
function makeStep(shape: readonly number[], r: readonly number[]): Step | null {
  const rank = shape.length;
  const kinds = rank === 0 ? ['unsqueeze', 'reshape', 'expand'] :
    ['transpose', 'permute', 'slice', 'flip', 'expand', 'unsqueeze', 'squeeze', 'select', 'narrow', 'reshape'];
  const kind = kinds[r[0] % kinds.length];
  const neg = (d: number, k: number): number => (r[3] % 2 === 1 ? d - k : d); // sometimes a negative dim
  switch (kind) {
    case 'transpose': {
      const d0 = r[1] % rank, d1 = r[2] % rank;
      return {
        name: kind, args: [neg(d0, rank), d1], apply: (t) => F.transpose(t, neg(d0, rank), d1),
        ref: (v) => {
          const s = [...v.shape];
          [s[d0], s[d1]] = [s[d1], s[d0]];
          return { shape: s, at: (idx) => { const j = [...idx]; [j[d0], j[d1]] = [j[d1], j[d0]]; return v.at(j); } };
        },
      };
    }
    case 'permute': {
      const p = shape.map((_, i) => i);
      for (let i = rank - 1, s = r[1]; i > 0; i--, s = Math.floor(s / 7) + r[2]) {
        const j = s % (i + 1);
        [p[i], p[j]] = [p[j], p[i]];
      }
      return {
        name: kind, args: [p], apply: (t) => F.permute(t, p.map((d) => neg(d, rank))),
        ref: (v) => ({
          shape: p.map((d) => v.shape[d]),
          at: (idx) => { const j = new Array<number>(rank); p.forEach((d, i) => (j[d] = idx[i])); return v.at(j); },
        }),
      };
    }
    case 'slice': {
      const d = r[1] % rank, n = shape[d];
      const step = 1 + (r[2] % 3);
      let start = (r[2] % (2 * n + 1)) - n;
      let end: number | null = r[3] % 5 === 0 ? null : (r[3] % (2 * n + 3)) - n - 1;
      if (pySliceIndices(n, start, end, step).length === 0) [start, end] = [0, null];
      const picks = pySliceIndices(n, start, end, step);
      return {
        name: kind, args: [d, start, end, step], apply: (t) => F.slice(t, d, start, end, step),
        ref: (v) => ({
          shape: v.shape.map((s, i) => (i === d ? picks.length : s)),
          at: (idx) => { const j = [...idx]; j[d] = picks[idx[d]]; return v.at(j); },
        }),
      };
    }
    case 'flip': {
      const dims = shape.map((_, i) => i).filter((i) => (r[1] >> i) & 1);
      return {
        name: kind, args: [dims], apply: (t) => F.flip(t, dims.map((d) => neg(d, rank))),
        ref: (v) => ({ shape: v.shape, at: (idx) => v.at(idx.map((x, i) => (dims.includes(i) ? v.shape[i] - 1 - x : x))) }),
      };
    }
    case 'expand': {
      const ones = shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      const target = [...shape];
      if (ones.length > 0) target[ones[r[1] % ones.length]] = 1 + (r[2] % 3);
      const lead = ones.length === 0 || r[3] % 2 === 1 ? [1 + (r[2] % 3)] : [];
      const full = [...lead, ...target];
      if (numel(full) > 400) return null;
      const arg = full.map((d, i) => (i >= lead.length && d === shape[i - lead.length] && r[1] % 2 === 1 ? -1 : d));
      return {
        name: kind, args: [arg], apply: (t) => F.expand(t, arg),
        ref: (v) => ({ shape: full, at: (idx) => v.at(idx.slice(lead.length).map((x, i) => (v.shape[i] === 1 ? 0 : x))) }),
      };
    }
    case 'unsqueeze': {
      const d = r[1] % (rank + 1);
      return {
        name: kind, args: [d], apply: (t) => F.unsqueeze(t, neg(d, rank + 1)),
        ref: (v) => ({ shape: [...v.shape.slice(0, d), 1, ...v.shape.slice(d)], at: (idx) => v.at([...idx.slice(0, d), ...idx.slice(d + 1)]) }),
      };
    }
    case 'squeeze': {
      const all = r[1] % 2 === 0;
      const d = r[2] % rank;
      const drop = shape.map((s, i) => s === 1 && (all || i === d));
      return {
        name: kind, args: all ? [] : [d], apply: (t) => (all ? F.squeeze(t) : F.squeeze(t, neg(d, rank))),
        ref: (v) => ({
          shape: v.shape.filter((_, i) => !drop[i]),
          at: (idx) => { const j: number[] = []; let k = 0; for (let i = 0; i < rank; i++) j.push(drop[i] ? 0 : idx[k++]); return v.at(j); },
        }),
      };
    }
    case 'select': {
      const d = r[1] % rank, n = shape[d];
      const i0 = r[2] % n;
      const index = r[3] % 2 === 1 ? i0 - n : i0;
      return {
        name: kind, args: [d, index], apply: (t) => F.select(t, d, index),
        ref: (v) => ({ shape: v.shape.filter((_, i) => i !== d), at: (idx) => v.at([...idx.slice(0, d), i0, ...idx.slice(d)]) }),
      };
    }
    case 'narrow': {
      const d = r[1] % rank, n = shape[d];
      const s0 = r[2] % n;
      const len = 1 + (r[3] % (n - s0));
      const start = r[3] % 3 === 2 ? s0 - n : s0;
      return {
        name: kind, args: [d, start, len], apply: (t) => F.narrow(t, d, start, len),
        ref: (v) => ({ shape: v.shape.map((x, i) => (i === d ? len : x)), at: (idx) => { const j = [...idx]; j[d] += s0; return v.at(j); } }),
      };
    }
    case 'reshape': {
      const n = numel(shape);
      const target = factorizations(n, 1 + (r[1] % 4), r[2]);
      const arg = r[3] % 3 === 0 ? target.map((d, i) => (i === r[2] % target.length ? -1 : d)) : target;
      return {
        name: kind, args: [arg], apply: (t) => F.reshape(t, arg),
        ref: (v) => ({ shape: target, at: (idx) => v.at(unravel(ravel(idx, target), v.shape)) }),
      };
    }
  }
  return null;
}

const baseShape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 });
const rawSteps = fc.array(fc.tuple(fc.nat(1000), fc.nat(1000), fc.nat(1000), fc.nat(1000)), { minLength: 1, maxLength: 6 });

function buildChain(shape: number[], raw: [number, number, number, number][]): { steps: Step[]; ref: RefView } {
  let ref: RefView = { shape, at: (idx) => idx };
  const steps: Step[] = [];
  for (const r of raw) {
    const st = makeStep(ref.shape, r);
    if (!st) continue;
    steps.push(st);
    ref = st.ref(ref);
  }
  return { steps, ref };
}

function gatherRef(base: readonly number[], baseShape: readonly number[], ref: RefView): number[] {
  return Array.from({ length: numel(ref.shape) }, (_, i) => base[ravel(ref.at(unravel(i, ref.shape)), baseShape)]);
}

describe('views', () => {
  it('a chain of view ops reads the elements the index reference says, and shares storage until a reshape copies', async () => {
    await fc.assert(fc.asyncProperty(baseShape, rawSteps, async (shape, raw) => {
      const data = Array.from({ length: numel(shape) }, (_, i) => i + 1);
      const base = f64(data, shape);
      const { steps, ref } = buildChain(shape, raw);
      let t = base;
      let copied = false;
      for (const st of steps) {
        const next = st.apply(t);
        if (next.storage !== t.storage) {
          expect(st.name, `only reshape may copy (${st.name} ${JSON.stringify(st.args)})`).toBe('reshape');
          copied = true;
        }
        t = next;
      }
      const what = `${fmt(shape)} → ${steps.map((s) => `${s.name}${JSON.stringify(s.args)}`).join(' → ')}`;
      expect(t.shape, what).toEqual(ref.shape);
      const want = gatherRef(data, shape, ref);
      expectClose(await t.data(), want, TOL.exact, `data of ${what}`);
      expect(t.storage === base.storage, what).toBe(!copied);

      // contiguous(): same values, row-major strides; no copy when already contiguous
      const c = F.contiguous(t);
      expect(c.isContiguous).toBe(true);
      expect(c.storage === t.storage, what).toBe(t.isContiguous);
      expectClose(await c.data(), want, TOL.exact, `contiguous() of ${what}`);
    }), runs(300));
  });

  it('reshape of any (non-contiguous) view keeps the row-major order; view() refuses exactly when reshape must copy', async () => {
    await fc.assert(fc.asyncProperty(baseShape, rawSteps, fc.nat(1000), fc.nat(1000), async (shape, raw, p, q) => {
      const data = Array.from({ length: numel(shape) }, (_, i) => i + 1);
      const base = f64(data, shape);
      const { steps, ref } = buildChain(shape, raw);
      let t = base;
      for (const st of steps) t = st.apply(t);
      const want = gatherRef(data, shape, ref);
      const target = factorizations(t.size, 1 + (p % 4), q);
      const r = F.reshape(t, target);
      expect(r.shape).toEqual(target);
      expectClose(await r.data(), want, TOL.exact, 'reshape');
      expectClose(await F.reshape(t, [-1]).data(), want, TOL.exact, 'reshape [-1]');
      expectClose(await F.flatten(t).data(), want, TOL.exact, 'flatten');
      const shares = r.storage === t.storage;
      if (shares) expectClose(await F.viewAs(t, target).data(), want, TOL.exact, 'view');
      else expect(() => F.viewAs(t, target)).toThrow(/view: shape .* is not compatible with the strides/);
    }), runs(300));
  });

  it('view() succeeds without a copy exactly where torch.view does (examples checked against PyTorch 1.13)', () => {
    const z = (shape: number[]): Tensor => F.zeros(shape, { dtype: 'float64' });
    // [x, target, torch allows the view]
    const cases: [Tensor, number[], boolean][] = [
      [F.transpose(z([2, 3, 1]), 1, 2), [6], true], // size-1 dim with an unusual stride (3, 1, 1)
      [F.transpose(z([2, 3, 1]), 1, 2), [3, 2], true],
      [F.slice(z([4, 6]), 0, 1, 3), [12], true], // offset rows
      [F.transpose(z([2, 3, 4]), 0, 1), [3, 8], false],
      [F.transpose(z([2, 3, 4]), 0, 1), [3, 2, 2, 2], true],
      [F.transpose(z([2, 3, 4]), 0, 1), [6, 4], false],
      [F.transpose(z([2, 3, 4]), 0, 1), [3, 2, 4, 1], true],
      [F.slice(z([3, 1, 4]), 2, 0, null, 2), [3, 2], true], // strides (4, 4, 2)
      [F.slice(z([3, 1, 4]), 2, 0, null, 2), [6], true],
      [F.expand(z([1, 5]), [3, 5]), [15], false], // stride 0
      [F.expand(z([1, 5]), [3, 5]), [3, 5, 1], true],
    ];
    for (const [x, target, ok] of cases) {
      const what = `view ${fmt(x.shape)} (strides ${fmt(x.strides)}) as ${fmt(target)}`;
      if (ok) expect(F.viewAs(x, target).storage, what).toBe(x.storage);
      else expect(() => F.viewAs(x, target), what).toThrow(/view: shape .* is not compatible with the strides/);
    }
    expect(F.transpose(z([2, 3, 1]), 1, 2).isContiguous).toBe(true); // as torch's is_contiguous()
  });

  it('gradients of a view chain land on the base elements the view reads (summed where it reads one twice)', async () => {
    await fc.assert(fc.asyncProperty(baseShape, rawSteps, async (shape, raw) => {
      const data = Array.from({ length: numel(shape) }, (_, i) => i + 1);
      const base = f64(data, shape, true);
      const { steps, ref } = buildChain(shape, raw);
      let t = base;
      for (const st of steps) t = st.apply(t);
      const w = Array.from({ length: t.size }, (_, i) => ((i * 7) % 11) - 5);
      F.sum(F.mul(t, F.tensor(w, t.shape, { dtype: 'float64' }))).backward();
      const want = new Array<number>(numel(shape)).fill(0);
      for (let i = 0; i < t.size; i++) want[ravel(ref.at(unravel(i, ref.shape)), shape)] += w[i];
      expectClose(await base.grad!.data(), want, TOL.exact, 'grad of base');
    }), runs(300));
  });
});

// ---------------------------------------------------------------- gradients vs finite differences

/** Values on a grid of odd multiples of 1/16 in [lo, hi]: never 0, never an integer or a half. */
const offGrid = (lo: number, hi: number): fc.Arbitrary<number> =>
  fc.integer({ min: Math.ceil(lo * 8), max: Math.floor(hi * 8) - 1 }).map((k) => k / 8 + 1 / 16);
const smooth = (lo: number, hi: number): fc.Arbitrary<number> =>
  fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
const valuesOf = (n: number, v: fc.Arbitrary<number>): fc.Arbitrary<number[]> => fc.array(v, { minLength: n, maxLength: n });
/** Pairwise distinct values k/8 (so reductions and max/min have no ties). */
const distinct = (n: number, span = 40): fc.Arbitrary<number[]> =>
  fc.uniqueArray(fc.integer({ min: -span, max: span }), { minLength: n, maxLength: n }).map((ks) => ks.map((k) => k / 8));
const shapeOf = (minRank: number, maxRank: number, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });

interface Leaf { shape: number[]; data: number[]; view: 'none' | 'flip' | 'transpose' }

/** A leaf of `shape`, sometimes read through a flip (any rank) or a transpose (rank ≥ 2, shape swapped back). */
const leafOf = (shape: number[], v: (n: number) => fc.Arbitrary<number[]>, views: Leaf['view'][] = ['none', 'flip', 'transpose']): fc.Arbitrary<Leaf> =>
  fc.constantFrom(...views.filter((w) => w !== 'transpose' || shape.length >= 2)).chain((view) => {
    const leafShape = view === 'transpose' ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : shape;
    return v(numel(shape)).map((data) => ({ shape: leafShape, data, view }));
  });

function read(t: Tensor, l: Leaf): Tensor {
  if (l.view === 'flip' && t.rank > 0) return F.flip(t, 0);
  if (l.view === 'transpose') return F.transpose(t, -1, -2);
  return t;
}

async function check(fn: (...xs: Tensor[]) => Tensor, leaves: Leaf[], constant: boolean[] = []): Promise<void> {
  const inputs = leaves.map((l, i) => f64(l.data, l.shape, !constant[i]));
  await gradcheck((...xs) => fn(...xs.map((x, i) => read(x, leaves[i]))), inputs);
}

/** Two shapes that broadcast to `full`: some leading dims dropped, some dims set to 1. */
const broadcastPair = (full: number[]): fc.Arbitrary<[number[], number[]]> => {
  const derive = fc.tuple(fc.nat(full.length), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }))
    .map(([drop, ones]) => full.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
  return fc.tuple(derive, derive);
};

describe('every op’s backward equals float64 central differences', () => {
  const UNARY: [string, (x: Tensor) => Tensor, fc.Arbitrary<number>][] = [
    ['neg', F.neg, smooth(-3, 3)],
    ['exp', F.exp, smooth(-3, 3)],
    ['log', F.log, smooth(0.2, 4)],
    ['sqrt', F.sqrt, smooth(0.2, 4)],
    ['rsqrt', F.rsqrt, smooth(0.2, 4)],
    ['abs', F.abs, offGrid(-3, 3)],
    ['relu', F.relu, offGrid(-3, 3)],
    ['sigmoid', F.sigmoid, smooth(-6, 6)],
    ['tanh', F.tanh, smooth(-3, 3)],
    ['erf', F.erf, smooth(-2.9, 2.9)],
    ['gelu (erf)', (x) => F.gelu(x), smooth(-4, 4)],
    ['gelu (tanh)', (x) => F.gelu(x, { approximate: 'tanh' }), smooth(-4, 4)],
    ['silu', F.silu, smooth(-4, 4)],
    ['square', F.square, smooth(-3, 3)],
    ['reciprocal', F.reciprocal, offGrid(-3, 3)],
    ['sin', F.sin, smooth(-4, 4)],
    ['cos', F.cos, smooth(-4, 4)],
    ['sign (zero gradient)', F.sign, offGrid(-3, 3)],
    ['floor (zero gradient)', F.floor, offGrid(-3, 3)],
    ['ceil (zero gradient)', F.ceil, offGrid(-3, 3)],
    ['round (zero gradient)', F.round, offGrid(-3, 3)],
    ['clamp (both bounds)', (x) => F.clamp(x, -0.5, 0.75), offGrid(-2, 2)],
    ['clampMin', (x) => F.clampMin(x, 0.25), offGrid(-2, 2)],
    ['clampMax', (x) => F.clampMax(x, -0.25), offGrid(-2, 2)],
    ['pow(x, 3)', (x) => F.pow(x, 3), smooth(-2, 2)],
    ['pow(x, -1.5)', (x) => F.pow(x, -1.5), smooth(0.3, 3)],
    ['pow(2.5, x)', (x) => F.pow(2.5, x), smooth(-2, 2)],
    ['sub(1, x)', (x) => F.sub(1, x), smooth(-2, 2)],
    ['div(x, -4)', (x) => F.div(x, -4), smooth(-2, 2)],
    ['div(3, x)', (x) => F.div(3, x), offGrid(-3, 3)],
    ['mul(x, x) (one input used twice)', (x) => F.mul(x, x), smooth(-2, 2)],
  ];
  for (const [name, fn, v] of UNARY) {
    it(`unary ${name}`, async () => {
      const arb = shapeOf(0, 3).chain((s) => leafOf(s, (n) => valuesOf(n, v)));
      await fc.assert(fc.asyncProperty(arb, (l) => check(fn, [l])), runs(15));
    });
  }

  const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, fc.Arbitrary<number>, fc.Arbitrary<number>][] = [
    ['add', F.add, smooth(-3, 3), smooth(-3, 3)],
    ['sub', F.sub, smooth(-3, 3), smooth(-3, 3)],
    ['mul', F.mul, smooth(-3, 3), smooth(-3, 3)],
    ['div', F.div, smooth(-3, 3), offGrid(-3, 3)],
    ['pow', F.pow, smooth(0.3, 3), smooth(-2, 2)],
    // a on multiples of 1/4, b on odd multiples of 1/8: never tied
    ['maximum', F.maximum, fc.integer({ min: -12, max: 12 }).map((k) => k / 4), offGrid(-3, 3)],
    ['minimum', F.minimum, fc.integer({ min: -12, max: 12 }).map((k) => k / 4), offGrid(-3, 3)],
  ];
  for (const [name, fn, va, vb] of BINARY) {
    it(`binary ${name} with broadcasting and strided inputs`, async () => {
      const arb = shapeOf(0, 3).chain(broadcastPair).chain(([sa, sb]) =>
        fc.tuple(leafOf(sa, (n) => valuesOf(n, va), ['none', 'flip']), leafOf(sb, (n) => valuesOf(n, vb), ['none', 'flip'])));
      await fc.assert(fc.asyncProperty(arb, ([a, b]) => check(fn, [a, b])), runs(20));
    });
  }

  it('where with a constant condition, broadcasting all three operands', async () => {
    const arb = shapeOf(0, 3).chain((full) => fc.tuple(broadcastPair(full), broadcastPair(full))).chain(([[sc, sa], [sb]]) => fc.tuple(
      valuesOf(numel(sc), fc.constantFrom(0, 1)).map((data) => ({ shape: sc, data, view: 'none' as const })),
      leafOf(sa, (n) => valuesOf(n, smooth(-3, 3)), ['none', 'flip']),
      leafOf(sb, (n) => valuesOf(n, smooth(-3, 3)), ['none', 'flip']),
    ));
    await fc.assert(fc.asyncProperty(arb, ([c, a, b]) => check(F.where, [c, a, b], [true, false, false])), runs(25));
  });

  /** A random subset of dims (or null = all), sometimes negative, with keepDim. */
  const dimsFor = (rank: number): fc.Arbitrary<{ dims: number[] | null; keepDim: boolean }> =>
    fc.record({
      dims: fc.option(fc.subarray(Array.from({ length: rank }, (_, i) => i), { minLength: rank > 0 ? 1 : 0 })
        .chain((ds) => fc.tuple(...ds.map((d) => fc.constantFrom(d, d - rank))).map((x) => x as number[])), { nil: null }),
      keepDim: fc.boolean(),
    });
  const oneDim = (rank: number): fc.Arbitrary<{ dim: number; keepDim: boolean }> =>
    fc.record({ dim: fc.integer({ min: -rank, max: rank - 1 }), keepDim: fc.boolean() });

  const REDUCE: [string, (x: Tensor, dims: number[] | null, keepDim: boolean) => Tensor, (n: number) => fc.Arbitrary<number[]>][] = [
    ['sum', (x, d, k) => F.sum(x, d, k), (n) => valuesOf(n, smooth(-3, 3))],
    ['mean', (x, d, k) => F.mean(x, d, k), (n) => valuesOf(n, smooth(-3, 3))],
    ['amax', (x, d, k) => F.amax(x, d, k), (n) => distinct(n)],
    ['amin', (x, d, k) => F.amin(x, d, k), (n) => distinct(n)],
    ['var (correction 1)', (x, d, k) => F.variance(x, d, { keepDim: k }), (n) => distinct(n)],
    ['var (correction 0)', (x, d, k) => F.variance(x, d, { keepDim: k, correction: 0 }), (n) => distinct(n)],
    ['std (correction 1)', (x, d, k) => F.std(x, d, { keepDim: k }), (n) => distinct(n)],
    ['std (correction 0)', (x, d, k) => F.std(x, d, { keepDim: k, correction: 0 }), (n) => distinct(n)],
    ['logsumexp', (x, d, k) => F.logsumexp(x, d ?? x.shape.map((_, i) => i), k), (n) => valuesOf(n, smooth(-4, 4))],
  ];
  for (const [name, fn, vals] of REDUCE) {
    it(`reduction ${name} over random dims of strided inputs`, async () => {
      const arb = shapeOf(1, 3).chain((s) => fc.tuple(leafOf(s, vals), dimsFor(s.length)));
      await fc.assert(fc.asyncProperty(arb, ([l, { dims, keepDim }]) => {
        // var/std need more than `correction` elements in every reduced group
        const x = read(f64(l.data, l.shape), l);
        const count = dims === null ? x.size : numel(dims.map((d) => x.shape[(d + x.rank) % x.rank]));
        if (name.startsWith('var') || name.startsWith('std')) fc.pre(count >= 2);
        return check((t) => fn(t, dims, keepDim), [l]);
      }), runs(20));
    });
  }

  it('prod over one dim or all, values of both signs away from zero', async () => {
    const arb = shapeOf(1, 3).chain((s) => fc.tuple(leafOf(s, (n) => valuesOf(n, offGrid(-2, 2))), fc.option(oneDim(s.length), { nil: null })));
    await fc.assert(fc.asyncProperty(arb, ([l, d]) => check((x) => (d ? F.prod(x, d.dim, d.keepDim) : F.prod(x)), [l])), runs(20));
  });

  it('prod with exact zeros (one or two in a group: the gradient is the product of the others)', async () => {
    const arb = shapeOf(1, 2).chain((s) => fc.tuple(
      fc.constant(s),
      valuesOf(numel(s), offGrid(-2, 2)),
      fc.array(fc.nat(numel(s) - 1), { minLength: 1, maxLength: 2 }),
      fc.integer({ min: 0, max: s.length - 1 }),
    ));
    await fc.assert(fc.asyncProperty(arb, async ([s, data, zeros, dim]) => {
      for (const z of zeros) data[z] = 0;
      // Central differences are exact here (prod is multilinear), so zeros are fine for gradcheck.
      await check((x) => F.prod(x, dim), [{ shape: s, data, view: 'none' }]);
      await check((x) => F.prod(x), [{ shape: s, data, view: 'none' }]);
    }), runs(20));
  });

  it('max / min with a dim (values; the gradient goes to the index) and without (whole tensor)', async () => {
    const arb = shapeOf(1, 3).chain((s) => fc.tuple(leafOf(s, (n) => distinct(n)), oneDim(s.length), fc.boolean()));
    await fc.assert(fc.asyncProperty(arb, async ([l, { dim, keepDim }, isMax]) => {
      const op = isMax ? F.max : F.min;
      await check((x) => op(x, dim, keepDim).values, [l]);
      await check((x) => op(x), [l]);
    }), runs(30));
  });

  /** matmul operand shapes: each side 1-D, 2-D or batched (rank 3–4) with broadcastable batch dims. */
  const matmulShapes = fc.record({
    m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }),
    ra: fc.integer({ min: 1, max: 4 }), rb: fc.integer({ min: 1, max: 4 }),
    batch: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 2 }),
    onesA: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), onesB: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
  }).map(({ m, k, n, ra, rb, batch, onesA, onesB }) => {
    // the last (rank - 2) batch dims, each possibly 1 (broadcast against the other side)
    const batchOf = (r: number, ones: boolean[]): number[] => batch.slice(4 - r).map((d, i) => (ones[i] ? 1 : d));
    const a = ra === 1 ? [k] : [...batchOf(ra, onesA), m, k];
    const b = rb === 1 ? [k] : [...batchOf(rb, onesB), k, n];
    return [a, b] as [number[], number[]];
  });

  it('matmul: 1-D, 2-D and batched-broadcast operands, transposed inputs', async () => {
    const arb = matmulShapes.chain(([sa, sb]) => fc.tuple(leafOf(sa, (n) => valuesOf(n, smooth(-2, 2))), leafOf(sb, (n) => valuesOf(n, smooth(-2, 2)))));
    await fc.assert(fc.asyncProperty(arb, ([a, b]) => check(F.matmul, [a, b])), runs(40));
  });

  it('bmm and linear (with and without bias, inputs of rank 1–3)', async () => {
    const arb = fc.record({ b: fc.integer({ min: 1, max: 3 }), m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }), lead: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), bias: fc.boolean() })
      .chain(({ b, m, k, n, lead, bias }) => fc.tuple(
        leafOf([b, m, k], (c) => valuesOf(c, smooth(-2, 2))), leafOf([b, k, n], (c) => valuesOf(c, smooth(-2, 2))),
        leafOf([...lead, k], (c) => valuesOf(c, smooth(-2, 2)), ['none', 'flip']), leafOf([n, k], (c) => valuesOf(c, smooth(-2, 2))),
        bias ? leafOf([n], (c) => valuesOf(c, smooth(-2, 2)), ['none']).map((l) => [l]) : fc.constant([] as Leaf[]),
      ));
    await fc.assert(fc.asyncProperty(arb, async ([a, b, x, w, bias]) => {
      await check(F.bmm, [a, b]);
      await check((xx, ww, bb) => F.linear(xx, ww, bb ?? null), [x, w, ...bias]);
    }), runs(25));
  });

  it('a random view chain followed by a nonlinearity (views compose with gradients)', async () => {
    await fc.assert(fc.asyncProperty(baseShape, rawSteps, async (shape, raw) => {
      const { steps } = buildChain(shape, raw);
      const data = Array.from({ length: numel(shape) }, (_, i) => Math.sin(i + 1) * 2);
      await check((x) => F.tanh(steps.reduce((t, st) => st.apply(t), x)), [{ shape, data, view: 'none' }]);
    }), runs(40));
  });

  it('gradcheck itself fails on a wrong gradient rule and on a dropped term', async () => {
    const x = f64([0.5, -1.25, 2], [3], true);
    // d/dx x³ recorded as 2x² (a wrong factor)
    const wrongCube = (t: Tensor): Tensor => record('cube', [t], F.noGrad(() => F.pow(t, 3)), (g) => [F.mul(g, F.mul(F.square(t), 2))], [t]);
    const err = await gradcheck(wrongCube, [x]).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(GradcheckError);
    const m = /input 0 \(shape \[3\]\) element \[0\]: analytic (\S+), numeric (\S+) /.exec((err as Error).message);
    expect(m, (err as Error).message).not.toBeNull();
    expect(Number(m![1]) / Number(m![2])).toBeCloseTo(2 / 3, 6); // 2x² vs 3x²
    // a rule that forgets the upstream gradient
    const noUpstream = (t: Tensor): Tensor => record('sq', [t], F.noGrad(() => F.square(t)), () => [F.mul(t, 2)], [t]);
    await expect(gradcheck(noUpstream, [x])).rejects.toThrow(GradcheckError);
    // and passes on the right rule, reporting tiny errors
    const r = await gradcheck((t) => F.pow(t, 3), [x]);
    expect(r.checked).toBe(3);
    expect(r.maxAbsError).toBeLessThan(1e-8);
  });
});
