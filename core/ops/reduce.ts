// Reductions. The kernel reduces to the keep-dim shape; dropping dims is a free reshape. Gradients
// broadcast back (sum, mean), go to the chosen index (max/min with a dim, as torch), or are shared
// equally between tied maxima (max/min over everything, amax/amin — torch's evenly_distribute rule).
import type { ReduceOp } from '../backend';
import { Tensor } from '../tensor';
import { tidy } from '../scope';
import { record } from '../autograd';
import { fmtShape, normalizeDim, normalizeDims, numel, shapesEqual } from '../shape';
import { checkTensor, wrap } from './util';
import { expand, reshape } from './views';
import { abs, add, cast, div, eq, exp, isnan, log, mul, sqrt, square, sub, where } from './elementwise';
import { noGrad } from '../grad-mode';

type Dims = number | readonly number[] | null | undefined;

/** Names a dim argument together with the tensor's shape, for range errors. */
function dimArg(op: string, x: Tensor): string {
  return `${op}: dim (x has shape ${fmtShape(x.shape)})`;
}

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function droppedShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[], keepDim: boolean): Tensor {
  const kept = keptShape(x.shape, axes);
  const y = wrap(x.backend.reduce(op, x, axes), kept, x.dtype);
  if (keepDim) return y;
  const dropped = new Tensor(y.storageRef, droppedShape(x.shape, axes), undefined, 0, y.dtype);
  y.dispose(); // the view holds the storage now
  return dropped;
}

/** Sums g over the dimensions that broadcasting added or stretched, giving `shape` back. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? reduceRaw('sum', g, axes, true) : g;
  return reshape(s, shape);
}

/** Broadcasts a reduced gradient back to the input shape. */
function spread(g: Tensor, inShape: readonly number[], axes: readonly number[]): Tensor {
  return expand(reshape(g, keptShape(inShape, axes)), inShape);
}

export function sum(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  checkTensor(x, 'sum', 'x');
  const axes = normalizeDims(dim, x.rank, dimArg('sum', x));
  const y = reduceRaw('sum', x, axes, keepDim);
  const inShape = x.shape;
  return record('sum', [x], y, (g) => [spread(g, inShape, axes)]);
}

export function mean(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  checkTensor(x, 'mean', 'x');
  if (x.dtype === 'int32') throw new TypeError('mean: x must be a floating-point tensor, got int32 (cast it first)');
  const axes = normalizeDims(dim, x.rank, dimArg('mean', x));
  const n = numel(axes.map((a) => x.shape[a]));
  return tidy(() => div(sum(x, axes, keepDim), n));
}

/** Product over dims. Gradient: the product of the other elements, exact when some are zero. */
export function prod(x: Tensor, dim?: number | null, keepDim = false): Tensor {
  checkTensor(x, 'prod', 'x');
  const axes = normalizeDims(dim, x.rank, dimArg('prod', x));
  const y = reduceRaw('prod', x, axes, keepDim);
  const inShape = x.shape;
  return record('prod', [x], y, (g) => {
    const isZero = eq(x, 0);
    const zeros = spread(sum(isZero, axes, true), inShape, axes);
    const prodNonZero = spread(reduceRaw('prod', where(isZero, 1, x), axes, true), inShape, axes);
    const gs = spread(g, inShape, axes);
    const noZero = div(spread(reshape(y, keptShape(inShape, axes)), inShape, axes), x);
    const oneZero = where(isZero, prodNonZero, 0);
    const others = where(eq(zeros, 0), noZero, where(eq(zeros, 1), oneZero, 0));
    return [mul(gs, others)];
  }, [x, y]);
}

/** nanToNaNs: where the result is NaN, the gradient goes to the NaN inputs (torch's max()/min() without
 *  dim); without it a NaN result gives NaN gradients (torch's amax/amin). */
function amaxLike(op: 'max' | 'min', name: string, x: Tensor, dim: Dims, keepDim: boolean, nanToNaNs = false): Tensor {
  checkTensor(x, name, 'x');
  const axes = normalizeDims(dim, x.rank, dimArg(name, x));
  if (axes.some((a) => x.shape[a] === 0)) {
    throw new Error(`${name}: cannot reduce over a zero-size dimension (shape ${fmtShape(x.shape)})`);
  }
  const y = reduceRaw(op, x, axes, keepDim);
  const inShape = x.shape;
  return record(name, [x], y, (g) => {
    const yk = spread(y, inShape, axes);
    const mask = nanToNaNs ? where(isnan(yk), isnan(x), eq(x, yk)) : eq(x, yk);
    const count = sum(mask, axes, true);
    return [mul(spread(g, inShape, axes), div(mask, count))];
  }, [x, y]);
}

export function amax(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  return amaxLike('max', 'amax', x, dim, keepDim);
}

export function amin(x: Tensor, dim?: Dims, keepDim = false): Tensor {
  return amaxLike('min', 'amin', x, dim, keepDim);
}

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

function maxMin(op: 'max' | 'min', x: Tensor, dim: number | undefined, keepDim: boolean): Tensor | ValuesIndices {
  const name = op;
  if (dim === undefined || dim === null) return amaxLike(op, name, x, null, false, true);
  checkTensor(x, name, 'x');
  const d = normalizeDim(dim, x.rank, dimArg(name, x));
  if (x.rank > 0 && x.shape[d] === 0) throw new Error(`${name}: cannot reduce over a zero-size dimension (shape ${fmtShape(x.shape)})`);
  const axis = x.rank === 0 ? [] : [d];
  const indicesK = x.rank === 0 ? wrap(x.backend.full(1, 'int32', 0), [], 'int32')
    : wrap(x.backend.argReduce(op === 'max' ? 'argmax' : 'argmin', x, d), keptShape(x.shape, axis), 'int32');
  const valuesK = x.rank === 0 ? x : wrap(x.backend.reduce(op, x, axis), keptShape(x.shape, axis), x.dtype);
  const outShape = keepDim ? keptShape(x.shape, axis) : droppedShape(x.shape, axis);
  const indices = new Tensor(indicesK.storageRef, outShape, undefined, 0, 'int32');
  const values0 = new Tensor(valuesK.storageRef, outShape, x.rank === 0 ? x.strides : undefined, x.rank === 0 ? x.offset : 0, x.dtype);
  const inShape = x.shape;
  const values = record(name, [x], values0, (g) => {
    if (inShape.length === 0) return [g];
    const gk = reshape(g, keptShape(inShape, axis));
    return [wrap(g.backend.scatterAdd(inShape, d, indicesK, gk), inShape, g.dtype)];
  }, [indicesK]);
  // The keep-dim tensors were only needed to make the views (and, saved, for backward).
  indicesK.dispose();
  if (valuesK !== x) valuesK.dispose();
  return { values, indices };
}

/** max(x) → the largest element; max(x, dim, keepDim) → {values, indices} as torch. */
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepDim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepDim = false): Tensor | ValuesIndices {
  return maxMin('max', x, dim, keepDim);
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepDim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepDim = false): Tensor | ValuesIndices {
  return maxMin('min', x, dim, keepDim);
}

function argReduce(op: 'argmax' | 'argmin', x: Tensor, dim: number | null | undefined, keepDim: boolean): Tensor {
  checkTensor(x, op, 'x');
  if (dim === undefined || dim === null) {
    const flat = reshape(x, [x.size]);
    if (x.size === 0) throw new Error(`${op}: cannot take ${op} of an empty tensor`);
    const r = wrap(x.backend.argReduce(op, flat, 0), [1], 'int32');
    return keepDim ? reshape(r, x.shape.map(() => 1)) : reshape(r, []);
  }
  const d = normalizeDim(dim, x.rank, dimArg(op, x));
  if (x.rank === 0) return wrap(x.backend.full(1, 'int32', 0), [], 'int32');
  if (x.shape[d] === 0) throw new Error(`${op}: cannot reduce over a zero-size dimension (shape ${fmtShape(x.shape)})`);
  const r = wrap(x.backend.argReduce(op, x, d), keptShape(x.shape, [d]), 'int32');
  return keepDim ? r : reshape(r, droppedShape(x.shape, [d]));
}

export function argmax(x: Tensor, dim?: number | null, keepDim = false): Tensor {
  return argReduce('argmax', x, dim, keepDim);
}

export function argmin(x: Tensor, dim?: number | null, keepDim = false): Tensor {
  return argReduce('argmin', x, dim, keepDim);
}

export interface VarOptions {
  /** Subtracted from the count in the divisor: 1 (default) is Bessel's correction, as torch. */
  correction?: number;
  keepDim?: boolean;
}

/** Variance over dims, torch's var(x, dim, correction=1, keepdim=False). */
export function variance(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  checkTensor(x, 'var', 'x');
  const xf = x.dtype === 'int32' ? cast(x, 'float32') : x;
  const axes = normalizeDims(dim, x.rank, dimArg('var', x));
  const correction = opts.correction ?? 1;
  const n = numel(axes.map((a) => x.shape[a]));
  return tidy(() => {
    const d = sub(xf, mean(xf, axes, true));
    return div(sum(square(d), axes, opts.keepDim ?? false), Math.max(n - correction, 0));
  });
}

/** sqrt(var); as torch, the gradient is 0 (not NaN) where the standard deviation is 0. */
export function std(x: Tensor, dim?: Dims, opts: VarOptions = {}): Tensor {
  return tidy(() => {
    const v = variance(x, dim, opts);
    const y = noGrad(() => sqrt(v));
    return record('std', [v], y, (g) => [where(eq(y, 0), 0, div(g, mul(y, 2)))], [y]);
  });
}

export function logsumexp(x: Tensor, dim: number | readonly number[], keepDim = false): Tensor {
  checkTensor(x, 'logsumexp', 'x');
  const axes = normalizeDims(dim, x.rank, dimArg('logsumexp', x));
  // Shifting by the (detached) max cancels in value and gradient; infinite maxima are replaced by 0 so
  // that -inf rows give -inf rather than NaN, as torch.
  return tidy(() => {
    const m0 = reduceRaw('max', x.detach(), axes, true);
    const m = where(eq(abs(m0), Infinity), 0, m0);
    const out = add(log(sum(exp(sub(x, m)), axes, true)), m);
    return keepDim ? out : reshape(out, droppedShape(x.shape, axes));
  });
}
