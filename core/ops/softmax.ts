// softmax and logSoftmax over one dimension. The backend only knows rows (the last axis of a contiguous
// [rows, cols] view), so the chosen dim is moved last by a stride permutation, copied once if that view is
// not contiguous, and the result is handed back with strides that put the dim where it was. That copy is
// bookkeeping, not part of the graph: the gradient rule is recorded once, from x to the output.
import type { Storage, View } from '../backend';
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { contiguousStrides, fmtShape, isContiguous, normalizeDim, numel } from '../shape';
import { checkTensor, wrap } from './util';
import { exp, mul, sub } from './elementwise';
import { sum } from './reduce';
import { reshape } from './views';

/**
 * A contiguous copy of `view` when it is not contiguous already; `release` frees the copy. The copy is
 * not recorded (callers record their own gradient from the original tensor).
 */
export function contiguousRaw(view: View): { view: View; release: () => void } {
  if (isContiguous(view.shape, view.strides)) return { view, release: () => {} };
  const copy = wrap(view.storage.backend.unary('copy', view), view.shape, view.dtype);
  return { view: copy, release: () => copy.dispose() };
}

/**
 * Runs a row kernel with `dim` as the row: returns its output as a tensor of x's shape whose strides
 * undo the move (so no copy on the way back).
 */
export function overDim(x: Tensor, dim: number, kernel: (rows: View) => Storage): Tensor {
  const rank = x.rank;
  const perm = [...x.shape.keys()].filter((i) => i !== dim);
  if (rank > 0) perm.push(dim);
  const pshape = perm.map((i) => x.shape[i]);
  const moved = contiguousRaw({ storage: x.storage, shape: pshape, strides: perm.map((i) => x.strides[i]), offset: x.offset, dtype: x.dtype });
  const cols = rank === 0 ? 1 : x.shape[dim];
  const rows = cols === 0 ? 0 : numel(x.shape) / cols;
  let out: Storage;
  if (rows === 0) out = x.backend.full(0, x.dtype, 0);
  else {
    const v = moved.view;
    out = kernel({ storage: v.storage, shape: [rows, cols], strides: [cols, 1], offset: v.offset, dtype: v.dtype });
  }
  moved.release();
  const movedStrides = contiguousStrides(pshape);
  const strides = new Array<number>(rank);
  perm.forEach((p, i) => (strides[p] = movedStrides[i]));
  return new Tensor(out, x.shape, strides, 0, x.dtype);
}

function checkInput(x: Tensor, op: string, dim: number): number {
  checkTensor(x, op, 'x');
  if (x.dtype === 'int32') {
    throw new TypeError(`${op}: x must be a floating-point tensor, got int32 of shape ${fmtShape(x.shape)} (cast it first)`);
  }
  if (dim === undefined || dim === null) throw new TypeError(`${op}: dim is required (as torch, no implicit dim)`);
  return normalizeDim(dim, x.rank, `${op}: dim`);
}

/** torch.softmax(x, dim). Gradient: gx = y·(g − Σ_dim g·y). */
export function softmax(x: Tensor, dim: number): Tensor {
  const d = checkInput(x, 'softmax', dim);
  if (x.rank === 0) return reshape(softmax(reshape(x, [1]), 0), []); // keeps the reductions below 1-D
  const y = overDim(x, d, (rows) => x.backend.softmax(rows, false));
  return record('softmax', [x], y, (g) => [mul(y, sub(g, sum(mul(g, y), d, true)))], [y]);
}

/** torch.log_softmax(x, dim). Gradient: gx = g − softmax(x)·Σ_dim g, with softmax(x) = exp(y). */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = checkInput(x, 'logSoftmax', dim);
  if (x.rank === 0) return reshape(logSoftmax(reshape(x, [1]), 0), []);
  const y = overDim(x, d, (rows) => x.backend.softmax(rows, true));
  return record('logSoftmax', [x], y, (g) => [sub(g, mul(exp(y), sum(g, d, true)))], [y]);
}
