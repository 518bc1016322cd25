// Elementwise ops. Each gradient rule sits next to its forward; broadcasting is handled once here (the
// kernels see equal shapes through stride-0 views) and undone in backward by summing back to each
// input's shape (sumToShape).
import type { BinaryOp, UnaryOp, View } from '../backend';
import type { DType } from '../dtype';
import { checkDType, isFloat, promoteTypes } from '../dtype';
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { broadcastShapes, fmtShape } from '../shape';
import { backendOf, checkTensor, wrap } from './util';
import { sumToShape } from './reduce';
import { bindAdd, fullLike, zerosLike } from './creation';

// ---------------------------------------------------------------- dtype conversion

/** x.to(dtype). Float → int truncates toward zero. Gradients flow between float types. */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor(x, 'cast', 'x');
  checkDType(dtype, 'cast: dtype');
  if (x.dtype === dtype) return x;
  const y = wrap(x.backend.cast(x, dtype), x.shape, dtype);
  if (!isFloat(dtype)) return y;
  const from = x.dtype;
  return record('cast', [x], y, (g) => [cast(g, from)]);
}

// ---------------------------------------------------------------- unary

function unaryRaw(op: UnaryOp, x: Tensor): Tensor {
  return wrap(x.backend.unary(op, x), x.shape, x.dtype);
}

function floatInput(x: Tensor, op: string): Tensor {
  checkTensor(x, op, 'x');
  return x.dtype === 'int32' ? cast(x, 'float32') : x;
}

/** Unary op with gradient rule dy/dx expressed through x, y and the incoming gradient g. */
function unary(op: UnaryOp, name: string, x: Tensor, rule: ((g: Tensor, x: Tensor, y: Tensor) => Tensor) | null, keepInt = false): Tensor {
  const xin = keepInt ? checkTensor(x, name, 'x') : floatInput(x, name);
  const y = unaryRaw(op, xin);
  if (!rule) return y;
  return record(name, [xin], y, (g) => [rule(g, xin, y)], [xin, y]);
}

const zeroGrad = (g: Tensor): Tensor => zerosLike(g);

export const neg = (x: Tensor): Tensor => unary('neg', 'neg', x, (g) => neg(g), true);
export const exp = (x: Tensor): Tensor => unary('exp', 'exp', x, (g, _x, y) => mul(g, y));
export const log = (x: Tensor): Tensor => unary('log', 'log', x, (g, x) => div(g, x));
export const sqrt = (x: Tensor): Tensor => unary('sqrt', 'sqrt', x, (g, _x, y) => div(g, mul(y, 2)));
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', 'rsqrt', x, (g, _x, y) => mul(g, mul(pow(y, 3), -0.5)));
export const abs = (x: Tensor): Tensor => unary('abs', 'abs', x, (g, x) => mul(g, sign(x)), true);
export const sign = (x: Tensor): Tensor => unary('sign', 'sign', x, zeroGrad, true);
export const relu = (x: Tensor): Tensor => unary('relu', 'relu', x, (g, _x, y) => mul(g, gt(y, 0)), true);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', 'sigmoid', x, (g, _x, y) => mul(g, mul(y, rsub(y, 1))));
export const tanh = (x: Tensor): Tensor => unary('tanh', 'tanh', x, (g, _x, y) => mul(g, rsub(square(y), 1)));
export const erf = (x: Tensor): Tensor => unary('erf', 'erf', x, (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))));
export const square = (x: Tensor): Tensor => unary('square', 'square', x, (g, x) => mul(g, mul(x, 2)), true);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', 'reciprocal', x, (g, _x, y) => neg(mul(g, square(y))));
export const sin = (x: Tensor): Tensor => unary('sin', 'sin', x, (g, x) => mul(g, cos(x)));
export const cos = (x: Tensor): Tensor => unary('cos', 'cos', x, (g, x) => neg(mul(g, sin(x))));
export const floor = (x: Tensor): Tensor => unary('floor', 'floor', x, zeroGrad, true);
export const ceil = (x: Tensor): Tensor => unary('ceil', 'ceil', x, zeroGrad, true);
export const round = (x: Tensor): Tensor => unary('round', 'round', x, zeroGrad, true);
export const isnan = (x: Tensor): Tensor => unary('isnan', 'isnan', x, null);

/** GELU, exact (approximate 'none', via erf) or the tanh approximation, as torch.nn.functional.gelu. */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approx = opts.approximate ?? 'none';
  if (approx !== 'none' && approx !== 'tanh') throw new TypeError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approx)}`);
  const [op, gradOp]: [UnaryOp, UnaryOp] = approx === 'none' ? ['gelu', 'geluGrad'] : ['geluTanh', 'geluTanhGrad'];
  return unary(op, 'gelu', x, (g, x) => mul(g, unaryRaw(gradOp, x)));
}

/** silu(x) = x·sigmoid(x) (SwiGLU feed-forward). Composed, so its gradient comes from the parts. */
export function silu(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

// ---------------------------------------------------------------- binary

type Operand = Tensor | number;

function viewAs(t: Tensor, shape: readonly number[]): View {
  // Stride-0 view of t broadcast to shape (no autograd: the rule below sums gradients back).
  const lead = shape.length - t.rank;
  const strides = shape.map((d, i) => (i < lead || t.shape[i - lead] !== d ? 0 : t.strides[i - lead]));
  return { storage: t.storage, shape, strides, offset: t.offset, dtype: t.dtype };
}

/** Gradients for (a, b); `needs` says which are wanted, so a rule can skip work (e.g. weight gradients). */
type BinaryRule = (g: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null];

function binary(op: BinaryOp, name: string, a: Operand, b: Operand, rule: BinaryRule | null, scalarRule?: {
  left?: (g: Tensor, x: Tensor, s: number, y: Tensor) => Tensor; // d/dx of op(x, s)
  right?: (g: Tensor, x: Tensor, s: number, y: Tensor) => Tensor; // d/dx of op(s, x)
}): Tensor {
  const aIsT = a instanceof Tensor;
  const bIsT = b instanceof Tensor;
  if (!aIsT && !bIsT) throw new TypeError(`${name}: at least one argument must be a Tensor`);
  const needsFloat = op === 'div' || op === 'pow';
  if (!aIsT || !bIsT) {
    const x = checkTensor(aIsT ? a : b, name, aIsT ? 'input' : 'other');
    const s = (aIsT ? b : a) as number;
    if (typeof s !== 'number') throw new TypeError(`${name}: ${aIsT ? 'other' : 'input'} must be a Tensor or a number, got ${s === null ? 'null' : typeof s}`);
    const xin = x.dtype === 'int32' && (needsFloat || !Number.isInteger(s)) ? cast(x, 'float32') : x;
    const y = wrap(xin.backend.binaryScalar(op, xin, s, !aIsT), xin.shape);
    const r = aIsT ? scalarRule?.left : scalarRule?.right;
    if (!r) return y;
    return record(name, [xin], y, (g) => [r(g, xin, s, y)], [xin, y]);
  }
  let ta = checkTensor(a, name, 'input');
  let tb = checkTensor(b, name, 'other');
  const backend = backendOf(name, ['input', ta], ['other', tb]);
  let dtype = promoteTypes(ta.dtype, tb.dtype);
  if (needsFloat && dtype === 'int32') dtype = 'float32';
  ta = cast(ta, dtype);
  tb = cast(tb, dtype);
  const shape = broadcastShapes(ta.shape, tb.shape, `${name}: input and other`);
  const y = wrap(backend.binary(op, viewAs(ta, shape), viewAs(tb, shape)), shape);
  if (!rule) return y;
  const [sa, sb] = [ta.shape, tb.shape];
  const A = ta, B = tb;
  return record(name, [A, B], y, (g, needs) => {
    const [ga, gb] = rule(g, A, B, y, needs);
    return [needs[0] && ga ? sumToShape(ga, sa) : null, needs[1] && gb ? sumToShape(gb, sb) : null];
  }, [A, B, y]);
}

export function add(a: Operand, b: Operand): Tensor {
  return binary('add', 'add', a, b, (g) => [g, g], { left: (g) => g, right: (g) => g });
}

export function sub(a: Operand, b: Operand): Tensor {
  return binary('sub', 'sub', a, b, (g, _a, _b, _y, needs) => [g, needs[1] ? neg(g) : null], { left: (g) => g, right: (g) => neg(g) });
}

/** s - x. */
export function rsub(x: Tensor, s: number): Tensor {
  return sub(s, x);
}

export function mul(a: Operand, b: Operand): Tensor {
  return binary('mul', 'mul', a, b, (g, a, b, _y, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null], {
    left: (g, _x, s) => mul(g, s),
    right: (g, _x, s) => mul(g, s),
  });
}

export function div(a: Operand, b: Operand): Tensor {
  return binary('div', 'div', a, b, (g, a, b, _y, needs) => [
    needs[0] ? div(g, b) : null,
    needs[1] ? neg(div(mul(g, a), mul(b, b))) : null,
  ], {
    left: (g, _x, s) => div(g, s),
    right: (g, x, s) => neg(div(mul(g, s), mul(x, x))),
  });
}

/** a ** b. Gradients as torch: zero exponent gives zero gradient (also at a == 0); d/db is 0 where
 *  a == 0 and b >= 0 (and g·y·log 0 = ∓inf where a == 0 and b < 0). */
export function pow(a: Operand, b: Operand): Tensor {
  return binary('pow', 'pow', a, b, (g, a, b, y, needs) => {
    const ga = needs[0] ? where(eq(b, 0), 0, mul(g, mul(b, pow(a, sub(b, 1))))) : null;
    const gb = needs[1] ? where(logicalAnd(eq(a, 0), ge(b, 0)), 0, mul(g, mul(y, log(a)))) : null;
    return [ga, gb];
  }, {
    left: (g, x, s) => (s === 0 ? zerosLike(g) : mul(g, mul(pow(x, s - 1), s))),
    right: (g, x, s, y) => (s === 0 ? where(ge(x, 0), 0, mul(g, mul(y, -Infinity))) : mul(g, mul(y, Math.log(s)))),
  });
}

/** Elementwise max; ties split the gradient equally between the inputs, as torch. Where one side is
 *  NaN neither loses, so both get the gradient (torch's masked_fill rule). */
export function maximum(a: Tensor, b: Tensor): Tensor {
  return binary('maximum', 'maximum', a, b, (g, a, b, _y, needs) => minMaxRule(g, a, b, lt, gt, needs));
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  return binary('minimum', 'minimum', a, b, (g, a, b, _y, needs) => minMaxRule(g, a, b, gt, lt, needs));
}

type Cmp = (a: Tensor, b: Tensor) => Tensor;

function minMaxRule(g: Tensor, a: Tensor, b: Tensor, aLoses: Cmp, bLoses: Cmp, needs: readonly boolean[]): [Tensor | null, Tensor | null] {
  const shared = where(eq(a, b), mul(g, 0.5), g);
  return [needs[0] ? where(aLoses(a, b), 0, shared) : null, needs[1] ? where(bLoses(a, b), 0, shared) : null];
}

// Comparisons return 0/1 masks in float32 (float64 for float64 inputs), so they multiply directly.
export const eq = (a: Operand, b: Operand): Tensor => binary('eq', 'eq', a, b, null);
export const ne = (a: Operand, b: Operand): Tensor => binary('ne', 'ne', a, b, null);
export const lt = (a: Operand, b: Operand): Tensor => binary('lt', 'lt', a, b, null);
export const le = (a: Operand, b: Operand): Tensor => binary('le', 'le', a, b, null);
export const gt = (a: Operand, b: Operand): Tensor => binary('gt', 'gt', a, b, null);
export const ge = (a: Operand, b: Operand): Tensor => binary('ge', 'ge', a, b, null);

export function logicalAnd(a: Tensor, b: Tensor): Tensor {
  return ne(mul(ne(a, 0), ne(b, 0)), 0);
}

// ---------------------------------------------------------------- where / clamp

/** cond ? a : b with broadcasting; cond is any tensor (nonzero = true). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  checkTensor(cond, 'where', 'condition');
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : null;
  const ta = a instanceof Tensor ? a : like ? fullLikeScalar(like, a) : fullScalar(cond, a);
  const tb = b instanceof Tensor ? b : like ? fullLikeScalar(like, b) : fullScalar(cond, b);
  checkTensor(ta, 'where', 'input');
  checkTensor(tb, 'where', 'other');
  const backend = backendOf('where', ['condition', cond], ['input', ta], ['other', tb]);
  const dtype = promoteTypes(ta.dtype, tb.dtype);
  const A = cast(ta, dtype);
  const B = cast(tb, dtype);
  const what = `where: condition ${fmtShape(cond.shape)}, input ${fmtShape(A.shape)} and other ${fmtShape(B.shape)}`;
  const shape = broadcastShapes(broadcastShapes(cond.shape, A.shape, what), B.shape, what);
  const y = wrap(backend.where(viewAs(cond, shape), viewAs(A, shape), viewAs(B, shape)), shape, dtype);
  const [sa, sb] = [A.shape, B.shape];
  return record('where', [A, B], y, (g, needs) => {
    const zero = zerosLike(g);
    return [
      needs[0] ? sumToShape(where(cond, g, zero), sa) : null,
      needs[1] ? sumToShape(where(cond, zero, g), sb) : null,
    ];
  }, [cond]);
}

function fullLikeScalar(like: Tensor, v: number): Tensor {
  if (typeof v !== 'number') throw new TypeError(`where: input and other must be Tensors or numbers, got ${typeof v}`);
  const t = fullLike(like, v);
  return like.dtype === 'int32' && !Number.isInteger(v) ? cast(t, 'float32') : t;
}

function fullScalar(cond: Tensor, v: number): Tensor {
  if (typeof v !== 'number') throw new TypeError(`where: input and other must be Tensors or numbers, got ${typeof v}`);
  return fullLike(cond, v, { dtype: 'float32' });
}

/** torch.clamp(x, min, max): gradient passes where min <= x <= max. Either bound may be omitted. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  checkTensor(x, 'clamp', 'x');
  if (min == null && max == null) throw new Error('clamp: at least one of min and max must be given');
  for (const [n, v] of [['min', min], ['max', max]] as const) {
    if (v != null && typeof v !== 'number') throw new TypeError(`clamp: ${n} must be a number, got ${typeof v}`);
  }
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  const xin = x.dtype === 'int32' && (!Number.isInteger(lo) && Number.isFinite(lo) || !Number.isInteger(hi) && Number.isFinite(hi)) ? cast(x, 'float32') : x;
  const y = wrap(xin.backend.clamp(xin, lo, hi), xin.shape, xin.dtype);
  return record('clamp', [xin], y, (g) => [mul(g, mul(ge(xin, lo), le(xin, hi)))], [xin]);
}

export function clampMin(x: Tensor, min: number): Tensor {
  return clamp(x, min, null);
}

export function clampMax(x: Tensor, max: number): Tensor {
  return clamp(x, null, max);
}

bindAdd((a, b) => add(a, b));

export { fmtShape };
