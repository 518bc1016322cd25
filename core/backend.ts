// The contract between the tensor front end and a compute backend (CPU reference, WebGPU).
//
// A backend owns storages (flat buffers of one dtype) and runs kernels on *views* of them. Every kernel
// returns a fresh, contiguous storage (row-major in the output shape the comment gives); the front end
// wraps it into a Tensor and records the gradient. Views may have any strides — including 0 (broadcast)
// and negative (flip) — and an element offset, so kernels must index through strides unless the view is
// contiguous. Kernels are synchronous from the caller's point of view: the WebGPU backend enqueues work
// and returns a storage at once; only `read` waits.
//
// Gradient rules live in the front end (core/ops/*) and are written with front-end ops, so most of autograd
// comes with the forward kernels. The contract still names the gradient kernels that have no efficient
// composition from the others (conv2d's input and weight gradients, max-pool's scatter, scatterAdd): every
// backend must implement those too.
import type { DType, TypedArray } from './dtype';

export interface Storage {
  readonly backend: Backend;
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
}

export interface View {
  readonly storage: Storage;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
}

export type UnaryOp =
  | 'copy' | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'sign' | 'relu' | 'sigmoid' | 'tanh'
  | 'erf' | 'gelu' | 'geluTanh' | 'geluGrad' | 'geluTanhGrad' | 'square' | 'reciprocal' | 'sin' | 'cos'
  | 'floor' | 'ceil' | 'round' | 'isnan';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type ReduceOp = 'sum' | 'max' | 'min' | 'prod';

export interface Conv2dParams {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/** Activation an epilogue may apply; 'gelu' is the exact erf form, the same formula as unary 'gelu'. */
export type EpilogueActivation = 'none' | 'relu' | 'gelu';

/**
 * Optional work fused into the write-out of matmul / conv2d: out = act(product + bias). Fusing saves a full
 * read + write pass over the output (a separate broadcast add, then a separate activation) — for the heavy
 * kernels the output is often as large as their inputs. The result equals the unfused composition
 * (binary 'add' with the broadcast bias, then unary activation) up to each backend's own rounding.
 */
export interface Epilogue {
  /** 1-D, same dtype as the output: indexed by output channel (conv2d: dim 1) or by the last dim (matmul). */
  bias?: View | null;
  /** Applied after the bias. Default 'none'. */
  activation?: EpilogueActivation;
}

export interface Pool2dParams {
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

export interface Backend {
  readonly name: 'cpu' | 'webgpu' | 'wasm';

  // ---- memory ----
  /** Storage of `size` elements initialised to `value`. */
  full(size: number, dtype: DType, value: number): Storage;
  /** Copies host data into a new storage. */
  upload(data: TypedArray): Storage;
  /** The view's elements in row-major order of its shape. */
  read(view: View): Promise<TypedArray>;
  /** Capability of backends whose storages live in host memory (cpu, wasm): the view's elements, row-major,
   *  read synchronously (ops use it to validate index values up front). Absent on device backends. */
  readSync?(view: View): TypedArray;
  /** Capability: models may fold eval-mode BatchNorm into the convolution before it on this backend
   *  (models/fold-batchnorm.ts: results change by float32 rounding only). The cpu reference never does. */
  readonly foldBatchNorm?: boolean;
  /** Frees the storage (called once its last view is released). */
  release(storage: Storage): void;

  // ---- data movement ----
  /** Writes `src` into the (possibly strided) destination view, element by element, same shape. */
  copyInto(src: View, dst: View): void;
  /** Elementwise type conversion (float→int truncates toward zero, as torch). Output: x.shape. */
  cast(x: View, dtype: DType): Storage;

  // ---- elementwise ----
  /** Output: x.shape, x.dtype (isnan gives x.dtype 0/1). */
  unary(op: UnaryOp, x: View): Storage;
  /** a and b have the same shape and dtype (broadcasting is done by the caller with stride-0 views).
   *  Arithmetic outputs a.dtype; comparisons output 0/1 in `float32` (or `float64` for float64 inputs). */
  binary(op: BinaryOp, a: View, b: View): Storage;
  /** `op(x, s)` or, with scalarFirst, `op(s, x)`. Output dtype as `binary`. */
  binaryScalar(op: BinaryOp, x: View, scalar: number, scalarFirst: boolean): Storage;
  /** cond != 0 ? a : b; all three share a shape; a and b share a dtype. */
  where(cond: View, a: View, b: View): Storage;
  /** min(max(x, lo), hi), NaN-propagating as torch.clamp. Either bound may be ±Infinity. */
  clamp(x: View, lo: number, hi: number): Storage;

  // ---- reductions ----
  /** Reduces the given (sorted, distinct) axes. Output: x.shape with those axes set to 1.
   *  max/min propagate NaN as torch does. */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage;
  /** Index of the first max/min along `axis` (NaN counts as the max). Output int32, x.shape with axis 1. */
  argReduce(op: 'argmax' | 'argmin', x: View, axis: number): Storage;

  // ---- linear algebra ----
  /** a: [B, M, K], b: [B, K, N] (any strides) → [B, M, N]; epilogue bias [N] (indexed by the last dim). */
  matmul(a: View, b: View, epilogue?: Epilogue): Storage;

  // ---- convolution and pooling (NCHW) ----
  /** x: [N, C, H, W], w: [O, C/groups, kh, kw] → [N, O, Ho, Wo]; epilogue bias [O] (indexed by dim 1). */
  conv2d(x: View, w: View, p: Conv2dParams, epilogue?: Epilogue): Storage;
  /** Optional (backends with foldBatchNorm): conv2d with the weights scaled per output channel, w'[o] =
   *  scale[o]·w[o] rounded to the weights' dtype, as if w' were passed — without a second copy of the weights
   *  (models/fold-batchnorm.ts folds BatchNorm's scale this way). scale: [O], w's dtype. */
  conv2dScaled?(x: View, w: View, scale: View, p: Conv2dParams, epilogue?: Epilogue): Storage;
  /** Gradient w.r.t. the input: gy [N, O, Ho, Wo], w → [N, C, H, W] with inputShape = [N, C, H, W]. */
  conv2dBackwardInput(gy: View, w: View, p: Conv2dParams, inputShape: readonly number[]): Storage;
  /** Gradient w.r.t. the weight: x, gy → weightShape [O, C/groups, kh, kw]. */
  conv2dBackwardWeight(x: View, gy: View, p: Conv2dParams, weightShape: readonly number[]): Storage;
  /** x: [N, C, H, W] → values [N, C, Ho, Wo] and int32 indices (flat h*W+w into each input plane, as torch). */
  maxPool2d(x: View, p: Pool2dParams): { values: Storage; indices: Storage };
  /** Scatters gy to the recorded argmax positions, summing overlaps. Output inputShape. */
  maxPool2dBackward(gy: View, indices: View, inputShape: readonly number[]): Storage;

  // ---- row-wise (last axis of a contiguous [rows, cols] view) ----
  softmax(x: View, log: boolean): Storage;
  /** Normalises each row; weight/bias [cols] or null. Returns y [rows, cols], mean and rstd [rows]. */
  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): { y: Storage; mean: Storage; rstd: Storage };

  // ---- indexing ----
  /** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for dim 1. Output index.shape, x.dtype. */
  gather(x: View, dim: number, index: View): Storage;
  /** zeros(shape).scatter_add_(dim, index, src). index and src share a shape. */
  scatterAdd(shape: readonly number[], dim: number, index: View, src: View): Storage;
}
