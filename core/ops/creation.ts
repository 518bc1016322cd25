// Making tensors: from host data, constants, ranges and random numbers. Data is built on the host and
// uploaded once; `full` asks the backend to fill, so a large constant costs no upload.
import type { Backend } from '../backend';
import type { DType, TypedArray } from '../dtype';
import { arrayFor, arrayFrom, checkDType } from '../dtype';
import { getBackendSync, getDefaultBackend, type DeviceName } from '../device';
import { Tensor } from '../tensor';
import { checkShape, fmtShape, numel } from '../shape';
import { nextNormal, nextUniform } from '../random';
import { wrap } from './util';
import { bindAutogradOps } from '../autograd';
import { allocating, checkTensorSize } from './size-limit';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  device?: DeviceName;
}

function backendFor(opts: CreateOptions | undefined, op: string): Backend {
  return opts?.device === undefined ? getDefaultBackend() : getBackendSync(opts.device, `${op}: device`);
}

function finish(t: Tensor, opts: CreateOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

function flatten(data: unknown, shape: number[], out: number[], depth: number, op: string): void {
  if (Array.isArray(data)) {
    if (shape.length === depth) shape.push(data.length);
    else if (shape[depth] !== data.length) {
      throw new Error(`${op}: ragged nested array: expected ${shape[depth]} elements at depth ${depth}, got ${data.length}`);
    }
    for (const d of data) flatten(d, shape, out, depth + 1, op);
    return;
  }
  if (shape.length !== depth) throw new Error(`${op}: ragged nested array: a number where a list was expected at depth ${depth}`);
  if (typeof data === 'boolean') out.push(data ? 1 : 0);
  else if (typeof data === 'number') out.push(data);
  else throw new TypeError(`${op}: data must contain numbers, got ${typeof data}`);
}

/**
 * tensor(data, shape?, {dtype, requiresGrad, device}): data is a number, nested arrays or a typed array.
 * Without dtype: Int32Array gives int32, Float64Array float64, everything else float32 (as torch's
 * default dtype; use dtype 'int32' for indices).
 */
export function tensor(data: number | readonly unknown[] | TypedArray, shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  let values: ArrayLike<number>;
  let inferred: number[] = [];
  let dtype: DType = opts.dtype ? checkDType(opts.dtype, 'tensor: dtype') : 'float32';
  if (typeof data === 'number' || typeof data === 'boolean') {
    values = [Number(data)];
  } else if (ArrayBuffer.isView(data)) {
    if (!opts.dtype) dtype = data instanceof Int32Array ? 'int32' : data instanceof Float64Array ? 'float64' : 'float32';
    values = data as TypedArray;
    inferred = [values.length];
  } else if (Array.isArray(data)) {
    const flat: number[] = [];
    flatten(data, inferred, flat, 0, 'tensor');
    values = flat;
  } else {
    throw new TypeError(`tensor: data must be a number, a (nested) array or a typed array, got ${data === null ? 'null' : typeof data}`);
  }
  let finalShape = inferred;
  if (shape !== undefined) {
    finalShape = checkShape(shape, 'tensor: shape');
    if (numel(finalShape) !== values.length) {
      throw new Error(`tensor: shape ${fmtShape(finalShape)} needs ${numel(finalShape)} elements but data has ${values.length}`);
    }
  }
  const backend = backendFor(opts, 'tensor');
  return finish(wrap(backend.upload(arrayFrom(dtype, values)), finalShape, dtype), opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const s = checkShape(shape, 'full: shape');
  const dtype = opts.dtype ? checkDType(opts.dtype, 'full: dtype') : 'float32';
  if (typeof value !== 'number') throw new TypeError(`full: value must be a number, got ${typeof value}`);
  const backend = backendFor(opts, 'full');
  checkTensorSize(s, dtype, 'full');
  return finish(wrap(allocating('full', s, dtype, () => backend.full(numel(s), dtype, value)), s, dtype), opts);
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

export function fullLike(t: Tensor, value: number, opts: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, device: t.device, ...opts });
}

export function zerosLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return fullLike(t, 0, opts);
}

export function onesLike(t: Tensor, opts: CreateOptions = {}): Tensor {
  return fullLike(t, 1, opts);
}

/** arange(end) or arange(start, end, step), as torch: int32 when all arguments are integers. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const [n, v] of [['start', start], ['end', end], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`arange: ${n} must be a finite number, got ${v}`);
  }
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  if ((end - start) / step < 0) throw new RangeError(`arange: the range [${start}, ${end}) cannot be walked with step ${step}`);
  const n = Math.ceil((end - start) / step);
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts.dtype ?? (allInt ? 'int32' : 'float32');
  checkTensorSize([n], dtype, 'arange');
  const a = allocating('arange', [n], dtype, () => arrayFor(dtype, n));
  for (let i = 0; i < n; i++) a[i] = start + i * step;
  return finish(wrap(backendFor(opts, 'arange').upload(a), [n], dtype), opts);
}

function random(shape: readonly number[], opts: CreateOptions, op: string, draw: () => number): Tensor {
  const s = checkShape(shape, `${op}: shape`);
  const dtype = opts.dtype ? checkDType(opts.dtype, `${op}: dtype`) : 'float32';
  if (dtype === 'int32') throw new TypeError(`${op}: dtype must be floating point`);
  checkTensorSize(s, dtype, op);
  const a = allocating(op, s, dtype, () => arrayFor(dtype, numel(s)));
  for (let i = 0; i < a.length; i++) a[i] = draw();
  return finish(wrap(backendFor(opts, op).upload(a), s, dtype), opts);
}

/** Standard normal samples from the global seeded generator (see manualSeed). */
export function randn(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return random(shape, opts, 'randn', nextNormal);
}

/** Uniform samples in [0, 1) from the global seeded generator. */
export function rand(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return random(shape, opts, 'rand', nextUniform);
}

/** A scalar (0-d) tensor on a given backend, used when ops mix tensors and numbers. */
export function scalarLike(value: number, like: Tensor): Tensor {
  return wrap(like.backend.full(1, like.dtype, value), [], like.dtype);
}

bindAutogradOps({ onesLike: (t) => onesLike(t), add: (a, b) => addForAutograd(a, b) });

// Set by elementwise.ts (avoids a cycle): plain addition used to accumulate gradients.
let addForAutograd: (a: Tensor, b: Tensor) => Tensor = () => {
  throw new Error('elementwise ops not loaded');
};
export function bindAdd(fn: (a: Tensor, b: Tensor) => Tensor): void {
  addForAutograd = fn;
}
