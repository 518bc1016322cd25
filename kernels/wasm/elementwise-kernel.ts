// SIMD kernels for the contiguous fast path of elementwise ops on float32: out[i] = op(a[i], b[i]) or op(a[i]),
// four lanes per step and a scalar tail. Only ops whose float32 instruction rounds exactly like the CPU
// backend (which computes in double and rounds once) are here, so results are bit-identical to it:
// + − × ÷ and sqrt are correctly rounded in both; min/max/neg/abs/floor/ceil/nearest/relu do not round.
// Transcendentals, rsqrt (two roundings in float32 vs one) and the strided cases stay in TypeScript
// (backend.ts).
import type { Expr, FunctionBuilder, Local, ModuleBuilder, Operand } from './builder/index';

type V = (f: FunctionBuilder, a: Operand, b: Operand) => Expr;
type S = (f: FunctionBuilder, a: Operand, b: Operand) => Expr;
type VU = (f: FunctionBuilder, a: Operand) => Expr;
type SU = (f: FunctionBuilder, a: Operand) => Expr;

/** Binary ops: [vector form, scalar form]. Comparisons give 1.0 / 0.0 (a mask ANDed with 1.0). */
export const SIMD_BINARY: Record<string, [V, S]> = {
  add: [(f, a, b) => f.f32x4.add(a, b), (f, a, b) => f.f32.add(a, b)],
  sub: [(f, a, b) => f.f32x4.sub(a, b), (f, a, b) => f.f32.sub(a, b)],
  mul: [(f, a, b) => f.f32x4.mul(a, b), (f, a, b) => f.f32.mul(a, b)],
  div: [(f, a, b) => f.f32x4.div(a, b), (f, a, b) => f.f32.div(a, b)],
  maximum: [(f, a, b) => f.f32x4.max(a, b), (f, a, b) => f.f32.max(a, b)],
  minimum: [(f, a, b) => f.f32x4.min(a, b), (f, a, b) => f.f32.min(a, b)],
};

/** Unary ops whose float32 result equals the double result rounded once. */
export const SIMD_UNARY: Record<string, [VU, SU]> = {
  neg: [(f, a) => f.f32x4.neg(a), (f, a) => f.f32.neg(a)],
  abs: [(f, a) => f.f32x4.abs(a), (f, a) => f.f32.abs(a)],
  sqrt: [(f, a) => f.f32x4.sqrt(a), (f, a) => f.f32.sqrt(a)],
  // IEEE maximum with +0: relu(NaN) = NaN and relu(-0) = +0, as torch.relu
  relu: [(f, a) => f.f32x4.max(a, 0), (f, a) => f.f32.max(a, 0)],
  square: [(f, a) => f.f32x4.mul(a, a), (f, a) => f.f32.mul(a, a)],
  reciprocal: [(f, a) => f.f32x4.div(1, a), (f, a) => f.f32.div(1, a)],
  floor: [(f, a) => f.f32x4.floor(a), (f, a) => f.f32.floor(a)],
  ceil: [(f, a) => f.f32x4.ceil(a), (f, a) => f.f32.ceil(a)],
  // nearest rounds half to even, as torch.round
  round: [(f, a) => f.f32x4.nearest(a), (f, a) => f.f32.nearest(a)],
};

/**
 * Adds, per op, `ew_<op>(a, b, out, n)` (b = 0 never: both operands are arrays) and `ews_<op>(a, s, out, n, first)`
 * (one operand is the f32 scalar s; `first` = 1 puts it on the left), and `ewu_<op>(a, out, n)`.
 */
export function addElementwiseKernels(m: ModuleBuilder): void {
  for (const [op, [vec, sc]] of Object.entries(SIMD_BINARY)) {
    m.func(`ew_${op}`, { a: 'i32', b: 'i32', out: 'i32', n: 'i32' }, [], (f) => {
      const [a, b, out, n] = f.params;
      streams(f, n, (i) => f.v128.store(f.i32.add(out, i), vec(f, f.v128.load(f.i32.add(a, i)), f.v128.load(f.i32.add(b, i)))),
        (i) => f.f32.store(f.i32.add(out, i), sc(f, f.f32.load(f.i32.add(a, i)), f.f32.load(f.i32.add(b, i)))));
    });
    m.func(`ews_${op}`, { a: 'i32', s: 'f32', out: 'i32', n: 'i32', first: 'i32' }, [], (f) => {
      const [a, s, out, n, first] = f.params;
      const sv = f.local('sv', 'v128');
      f.set(sv, f.f32x4.splat(s));
      f.if_(first, () => {
        streams(f, n, (i) => f.v128.store(f.i32.add(out, i), vec(f, sv, f.v128.load(f.i32.add(a, i)))),
          (i) => f.f32.store(f.i32.add(out, i), sc(f, s, f.f32.load(f.i32.add(a, i)))));
      }, () => {
        streams(f, n, (i) => f.v128.store(f.i32.add(out, i), vec(f, f.v128.load(f.i32.add(a, i)), sv)),
          (i) => f.f32.store(f.i32.add(out, i), sc(f, f.f32.load(f.i32.add(a, i)), s)));
      });
    });
  }
  // ew2_<op>(a, b, out, rows, inner, ars, brs, mode): out[r·inner + i] = op(A(r, i), B(r, i)) with row strides
  // ars/brs (elements, any value including 0) and, by mode, the inner stride of each operand: 0 both
  // contiguous, 1 b is one value per row (b[r·brs], splatted), 2 a is one value per row. This covers the
  // broadcasts models make (a per-channel BatchNorm statistic against [C, H·W], a bias or LayerScale row
  // against [tokens, D]) without copying the broadcast operand out first.
  for (const [op, [vec, sc]] of Object.entries(SIMD_BINARY)) {
    m.func(`ew2_${op}`, { a: 'i32', b: 'i32', out: 'i32', rows: 'i32', inner: 'i32', ars: 'i32', brs: 'i32', mode: 'i32' }, [], (f) => {
      const [a, b, out, rows, inner, ars, brs, mode] = f.params;
      const r = f.local('r', 'i32');
      const pa = f.local('pa', 'i32');
      const pb = f.local('pb', 'i32');
      const po = f.local('po', 'i32');
      const s = f.local('s', 'f32');
      const sv = f.local('sv', 'v128');
      const arsB = f.local('arsB', 'i32');
      const brsB = f.local('brsB', 'i32');
      f.set(arsB, f.i32.shl(ars, 2));
      f.set(brsB, f.i32.shl(brs, 2));
      f.set(pa, a);
      f.set(pb, b);
      f.set(po, out);
      f.for_(r, 0, rows, 1, () => {
        f.if_(f.i32.eq(mode, 1), () => {
          f.set(s, f.f32.load(pb));
          f.set(sv, f.f32x4.splat(s));
          streams(f, inner, (i) => f.v128.store(f.i32.add(po, i), vec(f, f.v128.load(f.i32.add(pa, i)), sv)),
            (i) => f.f32.store(f.i32.add(po, i), sc(f, f.f32.load(f.i32.add(pa, i)), s)));
        }, () => {
          f.if_(f.i32.eq(mode, 2), () => {
            f.set(s, f.f32.load(pa));
            f.set(sv, f.f32x4.splat(s));
            streams(f, inner, (i) => f.v128.store(f.i32.add(po, i), vec(f, sv, f.v128.load(f.i32.add(pb, i)))),
              (i) => f.f32.store(f.i32.add(po, i), sc(f, s, f.f32.load(f.i32.add(pb, i)))));
          }, () => {
            streams(f, inner, (i) => f.v128.store(f.i32.add(po, i), vec(f, f.v128.load(f.i32.add(pa, i)), f.v128.load(f.i32.add(pb, i)))),
              (i) => f.f32.store(f.i32.add(po, i), sc(f, f.f32.load(f.i32.add(pa, i)), f.f32.load(f.i32.add(pb, i)))));
          });
        });
        f.set(pa, f.i32.add(pa, arsB));
        f.set(pb, f.i32.add(pb, brsB));
        f.set(po, f.i32.add(po, f.i32.shl(inner, 2)));
      });
    });
  }
  for (const [op, [vec, sc]] of Object.entries(SIMD_UNARY)) {
    m.func(`ewu_${op}`, { a: 'i32', out: 'i32', n: 'i32' }, [], (f) => {
      const [a, out, n] = f.params;
      streams(f, n, (i) => f.v128.store(f.i32.add(out, i), vec(f, f.v128.load(f.i32.add(a, i)))),
        (i) => f.f32.store(f.i32.add(out, i), sc(f, f.f32.load(f.i32.add(a, i)))));
    });
  }
}

/**
 * The loop shape every elementwise kernel shares: byte offset i walks n floats, 16 bytes per vector step while
 * four remain, then 4 bytes per scalar step.
 */
function streams(f: FunctionBuilder, n: Local, vectorStep: (i: Local) => void, scalarStep: (i: Local) => void): void {
  const i = f.reuse('i', 'i32');
  const end = f.reuse('end', 'i32');
  const vend = f.reuse('vend', 'i32');
  f.set(end, f.i32.shl(n, 2));
  f.set(vend, f.i32.and(end, -16));
  f.for_(i, 0, vend, 16, () => vectorStep(i));
  f.for_(i, vend, end, 4, () => scalarStep(i));
}
