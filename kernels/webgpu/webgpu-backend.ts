// The WebGPU implementation of core's Backend contract. Kernels enqueue and return a fresh storage at once;
// only `read` waits for the GPU. float32 and int32 are supported; float64 throws a clear error naming the op.
import type { Backend, BinaryOp, Conv2dParams, Epilogue, Pool2dParams, ReduceOp, Storage, UnaryOp, View } from '../../core/backend';
import type { DType, TypedArray } from '../../core/dtype';
import { arrayFor } from '../../core/dtype';
import { forgetBackend } from '../../core/device';
import { contiguousStrides, isContiguous, numel } from '../../core/shape';
import { acquireDevice } from './device';
import type { AcquireOptions, WebGPUInfo } from './device';
import { binaryOp, binaryScalarOp, castOp, clampOp, fillOp, isComparison, mapKernel, unaryOp, whereOp } from './elementwise';
import { argReduce, reduce } from './reduce';
import { matmul } from './matmul';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv';
import { maxPool2d, maxPool2dBackward } from './pool2d';
import { layerNorm, softmax } from './rows';
import { gather, scatterAdd } from './indexing';
import type { Host } from './runtime/host';
import { Runtime } from './runtime/runtime';
import type { RuntimeOptions, RuntimeStats } from './runtime/runtime';
import { GpuStorage } from './runtime/storage';
import { wgslType } from './strided';
import { getKernelVariant } from './variants';

export interface WebGPUBackendOptions extends AcquireOptions, RuntimeOptions {}

function contiguousView(storage: Storage, shape: readonly number[], dtype: DType): View {
  return { storage, shape, strides: contiguousStrides(shape), offset: 0, dtype };
}

export class WebGPUBackend implements Backend, Host {
  readonly name = 'webgpu' as const;

  constructor(readonly rt: Runtime) {}

  get info(): WebGPUInfo {
    return this.rt.ctx.info;
  }

  /** Pool and dispatch counters (bytesInUse returns to its start value once every storage is released). */
  stats(): RuntimeStats {
    return this.rt.stats();
  }

  /** Waits for all queued GPU work. */
  sync(): Promise<void> {
    return this.rt.sync();
  }

  /** GPU milliseconds of the kernels `fn` enqueues (timestamp queries), or null without timestamp-query. */
  gpuTime(fn: () => void): Promise<number | null> {
    return this.rt.gpuTime(fn);
  }

  /** Frees cached buffers that no storage uses. */
  trim(): void {
    this.rt.flush();
    this.rt.pool.trim();
  }

  destroy(): void {
    this.rt.destroy();
    forgetBackend('webgpu');
  }

  alloc(dtype: DType, size: number, op: string): GpuStorage {
    wgslType(dtype, op);
    const buf = this.rt.alloc(size * 4, op);
    return new GpuStorage(this, dtype, size, buf);
  }

  // ---- memory ----

  full(size: number, dtype: DType, value: number): Storage {
    return mapKernel(this, 'full', fillOp(dtype, value), [], [size], dtype)!;
  }

  upload(data: TypedArray): Storage {
    const dtype: DType = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : 'float64';
    const out = this.alloc(dtype, data.length, 'upload');
    if (data.length > 0) this.rt.write(out.buffer, data);
    return out;
  }

  async read(view: View): Promise<TypedArray> {
    wgslType(view.dtype, 'read');
    const n = numel(view.shape);
    let src = view;
    let temp: GpuStorage | null = null;
    if (!isContiguous(view.shape, view.strides)) {
      temp = mapKernel(this, 'read', unaryOp('copy', view.dtype), [view], view.shape, view.dtype)!;
      src = contiguousView(temp, view.shape, view.dtype);
    }
    const s = src.storage as GpuStorage;
    try {
      const bytes = await this.rt.read(s.buffer, src.offset * 4, n * 4);
      const out = arrayFor(view.dtype, n);
      out.set(view.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes));
      return out;
    } finally {
      if (temp) this.release(temp);
    }
  }

  release(storage: Storage): void {
    if (!(storage instanceof GpuStorage)) return;
    const b = storage.take();
    if (b) this.rt.free(b);
  }

  // ---- data movement ----

  copyInto(src: View, dst: View): void {
    wgslType(dst.dtype, 'copyInto');
    let s = src;
    let temp: GpuStorage | null = null;
    if (src.storage === dst.storage) {
      // reading and writing one buffer in a dispatch is not allowed (and could race): copy the source first
      temp = mapKernel(this, 'copyInto', unaryOp('copy', src.dtype), [src], src.shape, src.dtype)!;
      s = contiguousView(temp, src.shape, src.dtype);
    }
    const op = src.dtype === dst.dtype ? unaryOp('copy', src.dtype) : castOp(src.dtype, dst.dtype);
    mapKernel(this, 'copyInto', op, [s], dst.shape, dst.dtype, dst);
    if (temp) this.release(temp);
  }

  cast(x: View, dtype: DType): Storage {
    return mapKernel(this, 'cast', castOp(x.dtype, dtype), [x], x.shape, dtype)!;
  }

  // ---- elementwise ----

  unary(op: UnaryOp, x: View): Storage {
    return mapKernel(this, `unary ${op}`, unaryOp(op, x.dtype), [x], x.shape, x.dtype)!;
  }

  binary(op: BinaryOp, a: View, b: View): Storage {
    const out: DType = isComparison(op) ? 'float32' : a.dtype;
    return mapKernel(this, `binary ${op}`, binaryOp(op, a.dtype), [a, b], a.shape, out)!;
  }

  binaryScalar(op: BinaryOp, x: View, scalar: number, scalarFirst: boolean): Storage {
    const out: DType = isComparison(op) ? 'float32' : x.dtype;
    return mapKernel(this, `binaryScalar ${op}`, binaryScalarOp(op, x.dtype, scalar, scalarFirst), [x], x.shape, out)!;
  }

  where(cond: View, a: View, b: View): Storage {
    return mapKernel(this, 'where', whereOp(cond.dtype, a.dtype), [cond, a, b], a.shape, a.dtype)!;
  }

  clamp(x: View, lo: number, hi: number): Storage {
    return mapKernel(this, 'clamp', clampOp(x.dtype, lo, hi), [x], x.shape, x.dtype)!;
  }

  // ---- reductions ----

  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    return reduce(this, op, x, axes);
  }

  argReduce(op: 'argmax' | 'argmin', x: View, axis: number): Storage {
    return argReduce(this, op, x, axis);
  }

  // ---- linear algebra ----

  matmul(a: View, b: View, epilogue?: Epilogue): Storage {
    const v = getKernelVariant('matmul');
    return v ? v.run(this, a, b, epilogue) : matmul(this, a, b, {}, epilogue);
  }

  // ---- convolution and pooling ----

  conv2d(x: View, w: View, p: Conv2dParams, epilogue?: Epilogue): Storage {
    const v = getKernelVariant('conv2d');
    return v ? v.run(this, x, w, p, epilogue) : conv2d(this, x, w, p, epilogue);
  }

  conv2dBackwardInput(gy: View, w: View, p: Conv2dParams, inputShape: readonly number[]): Storage {
    const v = getKernelVariant('conv2dBackwardInput');
    return v ? v.run(this, gy, w, p, inputShape) : conv2dBackwardInput(this, gy, w, p, inputShape);
  }

  conv2dBackwardWeight(x: View, gy: View, p: Conv2dParams, weightShape: readonly number[]): Storage {
    const v = getKernelVariant('conv2dBackwardWeight');
    return v ? v.run(this, x, gy, p, weightShape) : conv2dBackwardWeight(this, x, gy, p, weightShape);
  }

  maxPool2d(x: View, p: Pool2dParams): { values: Storage; indices: Storage } {
    return maxPool2d(this, x, p);
  }

  maxPool2dBackward(gy: View, indices: View, inputShape: readonly number[]): Storage {
    return maxPool2dBackward(this, gy, indices, inputShape);
  }

  // ---- row-wise ----

  softmax(x: View, log: boolean): Storage {
    const v = getKernelVariant('softmax');
    return v ? v.run(this, x, log) : softmax(this, x, log);
  }

  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): { y: Storage; mean: Storage; rstd: Storage } {
    const v = getKernelVariant('layerNorm');
    return v ? v.run(this, x, weight, bias, eps) : layerNorm(this, x, weight, bias, eps);
  }

  // ---- indexing ----

  gather(x: View, dim: number, index: View): Storage {
    return gather(this, x, dim, index);
  }

  scatterAdd(shape: readonly number[], dim: number, index: View, src: View): Storage {
    return scatterAdd(this, shape, dim, index, src);
  }
}

/**
 * Creates the WebGPU backend on a fresh device, or returns null when this environment has no WebGPU adapter
 * (no navigator.gpu in a browser; no `webgpu` package or no adapter in Node).
 */
export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend | null> {
  const ctx = await acquireDevice(opts);
  if (!ctx) return null;
  const rt = new Runtime(ctx, opts);
  const backend = new WebGPUBackend(rt);
  ctx.onLost = () => forgetBackend('webgpu');
  return backend;
}
