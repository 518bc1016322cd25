// Indexing and assembling ops: gather / indexSelect / embedding / scatterAdd pick or place elements by
// int32 indices (gradient: the opposite kernel), concat / stack / pad write inputs into strided sub-views
// of a fresh output (gradient: the matching slices of the output gradient).
//
// Index bounds are checked on the host before any kernel runs, so a bad index is an error naming it
// rather than a read out of bounds. That needs the index values synchronously, which only the CPU backend
// can give; on other backends the check is skipped (as CUDA torch, which only asserts on the device).
import type { View } from '../backend';
import { promoteTypes } from '../dtype';
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { contiguousStrides, fmtShape, normalizeDim, numel, shapesEqual } from '../shape';
import { backendOf, checkTensor, wrap } from './util';
import { cast, mul, ne } from './elementwise';
import { reshape, slice, unsqueeze } from './views';

// ---------------------------------------------------------------- helpers

function checkIndexTensor(index: unknown, op: string, arg: string): Tensor {
  const t = checkTensor(index, op, arg);
  if (t.dtype !== 'int32') throw new TypeError(`${op}: ${arg} must be an int32 tensor, got ${t.dtype} of shape ${fmtShape(t.shape)}`);
  return t;
}

/** The index values, when the backend can read them synchronously (host memory); otherwise null. */
export function hostIndexValues(index: Tensor): ArrayLike<number> | null {
  return index.backend.readSync ? index.backend.readSync(index) : null;
}

/** Throws `describe(bad)` for the first index outside [0, size) (values equal to `allowed` pass). */
export function checkIndexBounds(index: Tensor, size: number, describe: (bad: number) => string, allowed?: number): void {
  const values = hostIndexValues(index);
  if (!values) return;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if ((v < 0 || v >= size) && v !== allowed) throw new RangeError(describe(v));
  }
}

/** A raw (unrecorded) view over a tensor's storage. */
function rawView(t: Tensor | View, shape: readonly number[], strides: readonly number[], offset: number): View {
  return { storage: t.storage, shape, strides, offset, dtype: t.dtype };
}

// ---------------------------------------------------------------- gather / scatterAdd

/**
 * torch.gather(x, dim, index): out[i][j][k] = x[i][index[i][j][k]][k] for dim 1. index has x's rank and
 * is no larger than x outside `dim`. Gradient: scatterAdd of the output gradient back to x's shape.
 */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const op = 'gather';
  checkTensor(x, op, 'x');
  checkIndexTensor(index, op, 'index');
  backendOf(op, ['x', x], ['index', index]);
  if (index.rank !== x.rank) {
    throw new Error(`${op}: index must have as many dimensions as x, got index ${fmtShape(index.shape)} and x ${fmtShape(x.shape)}`);
  }
  const d = normalizeDim(dim, x.rank, `${op}: dim`);
  for (let i = 0; i < x.rank; i++) {
    if (i !== d && index.shape[i] > x.shape[i]) {
      throw new Error(`${op}: index ${fmtShape(index.shape)} must not be larger than x ${fmtShape(x.shape)} in dimension ${i} (only dimension ${d} may differ)`);
    }
  }
  const size = x.rank === 0 ? 1 : x.shape[d];
  checkIndexBounds(index, size, (v) => `${op}: index ${v} is out of bounds for dimension ${d} with size ${size}`);
  const y = wrap(x.backend.gather(x, d, index), index.shape, x.dtype);
  const inShape = x.shape;
  return record(op, [x], y, (g) => [wrap(g.backend.scatterAdd(inShape, d, index, g), inShape, g.dtype)], [index]);
}

/**
 * torch.scatter_add(x, dim, index, src): a copy of x with src[i][j][k] added at x[i][index[i][j][k]][k]
 * (dim 1); repeated indices accumulate. Only the index-shaped corner of src is used, as torch.
 * Gradients: x gets g; src gets g gathered at the same indices (zero outside that corner).
 */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const op = 'scatterAdd';
  checkTensor(x, op, 'x');
  checkIndexTensor(index, op, 'index');
  checkTensor(src, op, 'src');
  const backend = backendOf(op, ['x', x], ['index', index], ['src', src]);
  if (src.dtype !== x.dtype) throw new TypeError(`${op}: src has dtype ${src.dtype} but x has ${x.dtype}`);
  if (index.rank !== x.rank || src.rank !== x.rank) {
    throw new Error(`${op}: x, index and src must have the same number of dimensions, got ${fmtShape(x.shape)}, ${fmtShape(index.shape)} and ${fmtShape(src.shape)}`);
  }
  const d = normalizeDim(dim, x.rank, `${op}: dim`);
  for (let i = 0; i < x.rank; i++) {
    if (index.shape[i] > src.shape[i] || (i !== d && index.shape[i] > x.shape[i])) {
      throw new Error(`${op}: index ${fmtShape(index.shape)} must not be larger than src ${fmtShape(src.shape)}, nor than x ${fmtShape(x.shape)} outside dimension ${d}`);
    }
  }
  const size = x.rank === 0 ? 1 : x.shape[d];
  checkIndexBounds(index, size, (v) => `${op}: index ${v} is out of bounds for dimension ${d} with size ${size}`);
  const srcPart = rawView(src, index.shape, src.strides, src.offset);
  const scattered = wrap(backend.scatterAdd(x.shape, d, index, srcPart), x.shape, x.dtype);
  const y = wrap(backend.binary('add', x, scattered), x.shape, x.dtype);
  scattered.dispose();
  const srcShape = src.shape;
  return record(op, [x, src], y, (g, needs) => [
    needs[0] ? g : null,
    needs[1] ? intoZeros(wrap(g.backend.gather(g, d, index), index.shape, g.dtype), srcShape) : null,
  ], [index]);
}

/** zeros(shape) with t written into its leading corner (t is no larger than shape in any dim). */
function intoZeros(t: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(t.shape, shape)) return t;
  const out = wrap(t.backend.full(numel(shape), t.dtype, 0), shape, t.dtype);
  t.backend.copyInto(t, rawView(out, t.shape, contiguousStrides(shape), 0));
  return out;
}

// ---------------------------------------------------------------- indexSelect / embedding

/** index (1-D or a scalar) seen as `outShape`: its values run along dim d, stride 0 elsewhere. */
function spreadIndex(index: Tensor, outShape: readonly number[], d: number): View {
  const stride = index.rank === 0 ? 0 : index.strides[0];
  return rawView(index, outShape, outShape.map((_, i) => (i === d ? stride : 0)), index.offset);
}

/**
 * torch.index_select(x, dim, index): the slices x[..., index[i], ...] along dim, in index order
 * (repeats allowed). index is 1-D (a scalar counts as one element). Gradient: scatterAdd.
 */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const op = 'indexSelect';
  checkTensor(x, op, 'x');
  checkIndexTensor(index, op, 'index');
  backendOf(op, ['x', x], ['index', index]);
  if (index.rank > 1) throw new Error(`${op}: index must be 1-D, got shape ${fmtShape(index.shape)}`);
  if (x.rank === 0) throw new Error(`${op}: x must have at least one dimension, got a scalar`);
  const d = normalizeDim(dim, x.rank, `${op}: dim`);
  const size = x.shape[d];
  checkIndexBounds(index, size, (v) => `${op}: index ${v} is out of range for dimension ${d} of size ${size}`);
  const outShape = [...x.shape];
  outShape[d] = index.size;
  const y = wrap(x.backend.gather(x, d, spreadIndex(index, outShape, d)), outShape, x.dtype);
  const inShape = x.shape;
  return record(op, [x], y, (g) => [wrap(g.backend.scatterAdd(inShape, d, spreadIndex(index, outShape, d), g), inShape, g.dtype)], [index]);
}

export interface EmbeddingOptions {
  /** Rows looked up with this index get no gradient (torch's padding_idx; negative counts from the end). */
  paddingIdx?: number | null;
}

/**
 * torch.nn.functional.embedding(indices, weight): rows of weight [V, D] picked by int32 indices of any
 * shape → [...indices.shape, D]. Gradient: rows scatter-added back (repeats accumulate).
 */
export function embedding(indices: Tensor, weight: Tensor, opts: EmbeddingOptions = {}): Tensor {
  const op = 'embedding';
  checkIndexTensor(indices, op, 'indices');
  checkTensor(weight, op, 'weight');
  backendOf(op, ['indices', indices], ['weight', weight]);
  if (weight.rank !== 2) throw new Error(`${op}: weight must be 2-D [numEmbeddings, embeddingDim], got ${fmtShape(weight.shape)}`);
  const [V, D] = weight.shape;
  let pad: number | null = null;
  if (opts.paddingIdx !== undefined && opts.paddingIdx !== null) {
    const p = opts.paddingIdx;
    if (!Number.isInteger(p) || p < -V || p >= V) throw new RangeError(`${op}: paddingIdx ${p} must be within the ${V} embeddings`);
    pad = p < 0 ? p + V : p;
  }
  checkIndexBounds(indices, V, (v) => `${op}: index ${v} in indices is out of range for weight with ${V} rows`);
  const n = indices.size;
  const flat = reshape(indices, [n]); // int32, so never recorded
  const rowsIndex = rawView(flat, [n, D], [flat.rank === 0 ? 0 : flat.strides[0], 0], flat.offset);
  const y = wrap(weight.backend.gather(weight, 0, rowsIndex), [...indices.shape, D], weight.dtype);
  return record(op, [weight], y, (g) => {
    let g2 = reshape(g, [n, D]);
    if (pad !== null) g2 = mul(g2, unsqueeze(cast(ne(flat, pad), g.dtype), 1));
    return [wrap(g.backend.scatterAdd([V, D], 0, rowsIndex, g2), [V, D], g.dtype)];
  }, [flat]);
}

// ---------------------------------------------------------------- concat / stack

/**
 * torch.cat(tensors, dim): joins along an existing dim; sizes must agree elsewhere. dtypes are promoted
 * as torch, and 1-D empty tensors are skipped (torch's legacy rule). Gradient: each input's slice of g.
 */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  const op = 'concat';
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error(`${op}: expected a non-empty array of tensors`);
  tensors.forEach((t, i) => checkTensor(t, op, `tensors[${i}]`));
  backendOf(op, ...tensors.map((t, i): [string, Tensor] => [`tensors[${i}]`, t]));
  const isLegacyEmpty = (t: Tensor): boolean => t.rank === 1 && t.shape[0] === 0;
  const kept = tensors.map((t, i) => ({ t, i })).filter(({ t }) => !isLegacyEmpty(t));
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const parts = kept.length > 0 ? kept : [{ t: tensors[0], i: 0 }];
  const first = parts[0];
  const d = normalizeDim(dim, first.t.rank, `${op}: dim`);
  for (const { t, i } of parts) {
    const ok = t.rank === first.t.rank && t.shape.every((s: number, k: number) => k === d || s === first.t.shape[k]);
    if (!ok) {
      throw new Error(`${op}: tensors[${i}] has shape ${fmtShape(t.shape)} but tensors[${first.i}] has shape ${fmtShape(first.t.shape)}; sizes must match except in dimension ${d}`);
    }
  }
  const inputs = parts.map(({ t }) => cast(t, dtype));
  const outShape = [...first.t.shape];
  outShape[d] = inputs.reduce((acc, t) => acc + t.shape[d], 0);
  const backend = first.t.backend;
  const y = wrap(backend.full(numel(outShape), dtype, 0), outShape, dtype);
  const starts: number[] = [];
  let start = 0;
  for (const t of inputs) {
    starts.push(start);
    backend.copyInto(t, rawView(y, t.shape, y.strides, start * y.strides[d]));
    start += t.shape[d];
  }
  return record(op, inputs, y, (g, needs) =>
    inputs.map((t, i) => (needs[i] ? slice(g, d, starts[i], starts[i] + t.shape[d]) : null)));
}

/** Alias of concat, as torch.cat. */
export const cat = concat;

/** torch.stack(tensors, dim): joins equal-shaped tensors along a new dim (0..rank). */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const op = 'stack';
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error(`${op}: expected a non-empty array of tensors`);
  tensors.forEach((t, i) => checkTensor(t, op, `tensors[${i}]`));
  tensors.forEach((t, i) => {
    if (!shapesEqual(t.shape, tensors[0].shape)) {
      throw new Error(`${op}: expects each tensor to be equal size, but got ${fmtShape(tensors[0].shape)} at entry 0 and ${fmtShape(t.shape)} at entry ${i}`);
    }
  });
  const d = normalizeDim(dim, tensors[0].rank + 1, `${op}: dim`);
  return concat(tensors.map((t) => unsqueeze(t, d)), d);
}

// ---------------------------------------------------------------- pad

export interface PadOptions {
  /** Only 'constant' (the default) is supported. */
  mode?: 'constant';
  /** Fill value of the added border. Default 0. */
  value?: number;
}

/**
 * torch.nn.functional.pad, constant mode. `pad` lists [left, right] pairs starting from the LAST dim
 * ([left, right, top, bottom, ...]); negative amounts crop. Gradient: pad with the amounts negated (the
 * slice of g that came from x, with zeros where x was cropped).
 */
export function pad(x: Tensor, pad: readonly number[], opts: PadOptions = {}): Tensor {
  const op = 'pad';
  checkTensor(x, op, 'x');
  if (!Array.isArray(pad) || pad.length % 2 !== 0 || pad.length > 2 * x.rank || !pad.every(Number.isInteger)) {
    throw new Error(`${op}: pad must be an array of integer pairs, at most 2 per dimension of x ${fmtShape(x.shape)}, got ${JSON.stringify(pad)}`);
  }
  const mode = opts.mode ?? 'constant';
  if (mode !== 'constant') throw new Error(`${op}: only mode 'constant' is supported, got ${JSON.stringify(mode)}`);
  const value = opts.value ?? 0;
  if (typeof value !== 'number') throw new TypeError(`${op}: value must be a number, got ${typeof value}`);

  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let p = 0; p < pad.length / 2; p++) {
    const d = x.rank - 1 - p;
    before[d] = pad[2 * p];
    after[d] = pad[2 * p + 1];
  }
  const outShape = x.shape.map((s, d) => s + before[d] + after[d]);
  outShape.forEach((s, d) => {
    if (s < 0) {
      throw new Error(`${op}: dimension ${d} of size ${x.shape[d]} padded by ${before[d]} and ${after[d]} would have negative size ${s}`);
    }
  });
  const y = wrap(x.backend.full(numel(outShape), x.dtype, value), outShape, x.dtype);
  // The part of x that survives cropping, and where it lands in y.
  const srcStart = before.map((b) => Math.max(0, -b));
  const keptShape = x.shape.map((s, d) => Math.max(0, s - srcStart[d] - Math.max(0, -after[d])));
  if (numel(keptShape) > 0) {
    const srcOffset = x.offset + srcStart.reduce((acc, s, d) => acc + s * x.strides[d], 0);
    const dstOffset = before.reduce((acc, b, d) => acc + Math.max(0, b) * y.strides[d], 0);
    x.backend.copyInto(rawView(x, keptShape, x.strides, srcOffset), rawView(y, keptShape, y.strides, dstOffset));
  }
  const back = pad.map((p) => -p);
  return record(op, [x], y, (g) => [padTo(g, back)]);
}

// The gradient of pad is pad again (value 0); a named alias keeps the rule readable.
const padTo = (g: Tensor, amounts: readonly number[]): Tensor => pad(g, amounts);
