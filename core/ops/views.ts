// View ops: new shape/strides/offset over the same storage, no kernel. reshape copies only when the
// strides cannot express the new shape (as torch.reshape). Each gradient rule is the inverse view.
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { checkShape, contiguousStrides, fmtShape, normalizeDim, normalizeDims, numel, shapesEqual } from '../shape';
import { checkTensor, wrap } from './util';
import { sumToShape } from './reduce';

/** Names a dim argument together with the tensor's shape, for range errors. */
function dimArg(op: string, arg: string, x: Tensor): string {
  return `${op}: ${arg} (x has shape ${fmtShape(x.shape)})`;
}

function view(x: Tensor, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storageRef, shape, strides, offset, x.dtype);
}

/** A copy of x in row-major order, or x itself (as a new view) if already contiguous. */
export function contiguous(x: Tensor): Tensor {
  checkTensor(x, 'contiguous', 'x');
  const y = x.isContiguous ? view(x, x.shape, contiguousStrides(x.shape), x.offset) : wrap(x.backend.unary('copy', x), x.shape, x.dtype);
  return record('contiguous', [x], y, (g) => [g]);
}

function inferShape(shape: readonly number[], from: readonly number[], op: string): number[] {
  const n = numel(from);
  const out = [...shape];
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) throw new Error(`${op}: only one dimension can be -1, got ${fmtShape(shape)}`);
  for (const d of out) {
    if (!Number.isInteger(d) || d < -1) throw new TypeError(`${op}: shape must contain non-negative integers or one -1, got ${fmtShape(shape)}`);
  }
  if (neg === 1) {
    const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const i = out.indexOf(-1);
    if (known === 0 || n % known !== 0) throw new Error(`${op}: cannot reshape a tensor of shape ${fmtShape(from)} (${n} elements) into shape ${fmtShape(shape)}`);
    out[i] = n / known;
  }
  if (numel(out) !== n) throw new Error(`${op}: cannot reshape a tensor of shape ${fmtShape(from)} (${n} elements) into shape ${fmtShape(shape)}`);
  return out;
}

/** Strides that let `newShape` view the same elements, or null when a copy is needed (ATen's computeStride). */
export function viewStrides(oldShape: readonly number[], oldStrides: readonly number[], newShape: readonly number[]): number[] | null {
  if (numel(oldShape) <= 1 || oldShape.length === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length).fill(1);
  let viewD = newShape.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? newStrides : null;
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'reshape', 'x');
  const target = inferShape(checkShapeLike(shape, 'reshape'), x.shape, 'reshape');
  const strides = viewStrides(x.shape, x.strides, target);
  const y = strides ? view(x, target, strides, x.offset) : reshape(contiguous(x), target);
  if (y.gradFn && !strides) return y; // the copy path already recorded contiguous → reshape
  const inShape = x.shape;
  return record('reshape', [x], y, (g) => [reshape(g, inShape)]);
}

function checkShapeLike(shape: unknown, op: string): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${op}: shape must be an array, got ${String(shape)}`);
  return shape as number[];
}

/** Like reshape, but refuses to copy (torch's view). */
export function viewAs(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'view', 'x');
  const target = inferShape(checkShapeLike(shape, 'view'), x.shape, 'view');
  const strides = viewStrides(x.shape, x.strides, target);
  if (!strides) {
    throw new Error(`view: shape ${fmtShape(target)} is not compatible with the strides of a ${fmtShape(x.shape)} tensor; use reshape() (it copies)`);
  }
  const inShape = x.shape;
  return record('view', [x], view(x, target, strides, x.offset), (g) => [reshape(g, inShape)]);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor(x, 'flatten', 'x');
  if (x.rank === 0) return reshape(x, [1]);
  const s = normalizeDim(startDim, x.rank, dimArg('flatten', 'startDim', x));
  const e = normalizeDim(endDim, x.rank, dimArg('flatten', 'endDim', x));
  if (s > e) throw new Error(`flatten: startDim (${startDim}) must not come after endDim (${endDim})`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  checkTensor(x, 'permute', 'x');
  if (!Array.isArray(dims) || dims.length !== x.rank) {
    throw new Error(`permute: dims must list all ${x.rank} dimensions of a ${fmtShape(x.shape)} tensor, got ${JSON.stringify(dims)}`);
  }
  const p = dims.map((d) => normalizeDim(d, x.rank, dimArg('permute', 'dims', x)));
  if (new Set(p).size !== p.length) throw new Error(`permute: dims has repeated dimensions: ${JSON.stringify(dims)}`);
  const y = view(x, p.map((d) => x.shape[d]), p.map((d) => x.strides[d]), x.offset);
  const inverse = new Array<number>(p.length);
  p.forEach((d, i) => (inverse[d] = i));
  return record('permute', [x], y, (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor(x, 'transpose', 'x');
  const a = normalizeDim(dim0, x.rank, dimArg('transpose', 'dim0', x));
  const b = normalizeDim(dim1, x.rank, dimArg('transpose', 'dim1', x));
  const p = x.shape.map((_, i) => i);
  p[a] = b;
  p[b] = a;
  return permute(x, p);
}

/** expand(x, shape): broadcast to a larger shape with stride 0; -1 keeps a dimension. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, 'expand', 'x');
  const target = checkShapeLike(shape, 'expand');
  if (target.length < x.rank) {
    throw new Error(`expand: the target shape ${fmtShape(target)} has fewer dimensions than the tensor ${fmtShape(x.shape)}`);
  }
  const lead = target.length - x.rank;
  const outShape: number[] = [];
  const outStrides: number[] = [];
  for (let i = 0; i < target.length; i++) {
    const src = i < lead ? 1 : x.shape[i - lead];
    let d = target[i];
    if (d === -1) {
      if (i < lead) throw new Error(`expand: -1 is not allowed for the new leading dimension ${i} in ${fmtShape(target)}`);
      d = src;
    }
    if (!Number.isInteger(d) || d < 0) throw new TypeError(`expand: invalid size ${d} in ${fmtShape(target)}`);
    if (src !== d && src !== 1) {
      throw new Error(`expand: the size of dimension ${i - lead} (${src}) must match ${d} or be 1 (tensor ${fmtShape(x.shape)}, target ${fmtShape(target)})`);
    }
    outShape.push(d);
    outStrides.push(i < lead || (src === 1 && d !== 1) ? 0 : x.strides[i - lead]);
  }
  if (shapesEqual(outShape, x.shape)) return record('expand', [x], view(x, outShape, outStrides, x.offset), (g) => [g]);
  const inShape = x.shape;
  return record('expand', [x], view(x, outShape, outStrides, x.offset), (g) => [sumToShape(g, inShape)]);
}

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  return expand(x, shape);
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  checkTensor(x, 'unsqueeze', 'x');
  const d = normalizeDim(dim, x.rank + 1, dimArg('unsqueeze', 'dim', x));
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < x.rank ? x.strides[d] * x.shape[d] : 1);
  const inShape = x.shape;
  return record('unsqueeze', [x], view(x, shape, strides, x.offset), (g) => [reshape(g, inShape)]);
}

/** Removes size-1 dimensions (all of them, or the given ones that have size 1, as torch). */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  checkTensor(x, 'squeeze', 'x');
  const dims = dim === undefined ? x.shape.map((_, i) => i) : normalizeDims(dim, x.rank, dimArg('squeeze', 'dim', x));
  const drop = new Set(dims.filter((d) => x.shape[d] === 1));
  const shape = x.shape.filter((_, i) => !drop.has(i));
  const strides = x.strides.filter((_, i) => !drop.has(i));
  const inShape = x.shape;
  return record('squeeze', [x], view(x, shape, strides, x.offset), (g) => [reshape(g, inShape)]);
}

/** Reverses the given dimensions: a view with negative strides (torch.flip copies; values are the same). */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  checkTensor(x, 'flip', 'x');
  const ds = normalizeDims(dims, x.rank, dimArg('flip', 'dims', x));
  const strides = [...x.strides];
  let offset = x.offset;
  for (const d of ds) {
    if (x.shape[d] > 0) offset += (x.shape[d] - 1) * x.strides[d];
    strides[d] = -strides[d];
  }
  return record('flip', [x], view(x, x.shape, strides, offset), (g) => [flip(g, ds)]);
}

/**
 * x[start:end:step] along dim, as Python slicing: negative start/end count from the end and are clamped
 * to the size. step must be positive (as torch).
 */
export function slice(x: Tensor, dim: number, start = 0, end: number | null = null, step = 1): Tensor {
  checkTensor(x, 'slice', 'x');
  const d = normalizeDim(dim, x.rank, dimArg('slice', 'dim', x));
  if (!Number.isInteger(step) || step <= 0) throw new RangeError(`slice: step must be a positive integer, got ${step}`);
  if (!Number.isInteger(start)) throw new TypeError(`slice: start must be an integer, got ${start}`);
  if (end !== null && !Number.isInteger(end)) throw new TypeError(`slice: end must be an integer or null, got ${end}`);
  const n = x.shape[d];
  const clampIdx = (i: number): number => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start);
  const e = Math.max(clampIdx(end === null ? n : end), s);
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape[d] = len;
  strides[d] = x.strides[d] * step;
  const y = view(x, shape, strides, x.offset + s * x.strides[d]);
  const inShape = x.shape;
  return record('slice', [x], y, (g) => [sliceBackward(g, inShape, d, s, step)]);
}

/** Zeros of the input's shape with the gradient written into the sliced region. */
function sliceBackward(g: Tensor, inShape: readonly number[], d: number, s: number, step: number): Tensor {
  const out = wrap(g.backend.full(numel(inShape), g.dtype, 0), inShape, g.dtype);
  const strides = contiguousStrides(inShape);
  const region = [...strides];
  region[d] = strides[d] * step;
  g.backend.copyInto(g, { storage: out.storage, shape: g.shape, strides: region, offset: s * strides[d], dtype: g.dtype });
  return out;
}

/** x.narrow(dim, start, length). */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor(x, 'narrow', 'x');
  const d = normalizeDim(dim, x.rank, dimArg('narrow', 'dim', x));
  const n = x.shape[d];
  const s = start < 0 ? start + n : start;
  if (s < 0 || length < 0 || s + length > n) {
    throw new RangeError(`narrow: start ${start} and length ${length} do not fit dimension ${dim} of size ${n} (x has shape ${fmtShape(x.shape)})`);
  }
  return slice(x, d, s, s + length);
}

/** x.select(dim, index): removes the dimension. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  checkTensor(x, 'select', 'x');
  const d = normalizeDim(dim, x.rank, dimArg('select', 'dim', x));
  const n = x.shape[d];
  if (!Number.isInteger(index) || index < -n || index >= n) {
    throw new RangeError(`select: index ${index} is out of range for dimension ${dim} of size ${n} (x has shape ${fmtShape(x.shape)})`);
  }
  const i = index < 0 ? index + n : index;
  return squeeze(slice(x, d, i, i + 1), d);
}

export { checkShape };
