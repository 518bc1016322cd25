// Pooling over NCHW (or unbatched CHW) inputs with torch.nn.functional's semantics.
//
// maxPool2d runs the backend's kernel (it records argmax indices; backward scatters to them). The average
// pools are linear and separable: each output averages a rectangle, and both torch divisors
// (count_include_pad's padded window size, or the count of real pixels) are products of a height count
// and a width count. So they are built as per-axis weight matrices (separable.ts) and run as matmuls,
// which gives every backend the forward and an exact gradient.
import type { Pool2dParams } from '../backend';
import { Tensor } from '../tensor';
import { record } from '../autograd';
import { fmtShape, pair } from '../shape';
import { poolOutputSize } from '../shape';
import type { ValuesIndices } from './reduce';
import { checkFloat, wrap } from './util';
import { applySeparable2d, withBatchDim, zeroAxisMap, type AxisMap } from './separable';
import { mul } from './elementwise';

type Pair = number | readonly [number, number];

function checkOptions(opts: unknown, op: string): void {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`${op}: options must be an object with at least kernelSize, got ${opts === null ? 'null' : typeof opts}`);
  }
}

function checkBool(v: unknown, op: string, arg: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${arg} must be a boolean, got ${String(v)}`);
  return v;
}

/** Kernel, stride (default: the kernel), padding and dilation, with torch's "pad at most half the kernel" rule. */
function poolParams(op: string, x4: Tensor, kernelSize: Pair, stride: Pair | null | undefined, padding: Pair | undefined, dilation: Pair | undefined, ceilMode: boolean): { p: Pool2dParams; Ho: number; Wo: number } {
  const k = pair(kernelSize, `${op}: kernelSize`, 1);
  const s = stride === undefined || stride === null ? k : pair(stride, `${op}: stride`, 1);
  const pad = pair(padding ?? 0, `${op}: padding`, 0);
  const d = pair(dilation ?? 1, `${op}: dilation`, 1);
  if (pad[0] > Math.floor(k[0] / 2) || pad[1] > Math.floor(k[1] / 2)) {
    throw new RangeError(`${op}: padding must be at most half of kernelSize, got padding ${fmtShape(pad)} with kernelSize ${fmtShape(k)}`);
  }
  const [, , H, W] = x4.shape;
  const Ho = poolOutputSize(H, k[0], s[0], pad[0], d[0], ceilMode);
  const Wo = poolOutputSize(W, k[1], s[1], pad[1], d[1], ceilMode);
  if (Ho < 1 || Wo < 1) {
    throw new RangeError(
      `${op}: input of spatial size [${H}, ${W}] is too small for kernelSize ${fmtShape(k)}, dilation ${fmtShape(d)} ` +
        `and padding ${fmtShape(pad)}: the output would be [${Ho}, ${Wo}] (input shape ${fmtShape(x4.shape)})`,
    );
  }
  return { p: { kernelSize: k, stride: s, padding: pad, dilation: d, ceilMode }, Ho, Wo };
}

// ---------------------------------------------------------------- max pooling

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Default: kernelSize. */
  stride?: Pair | null;
  /** Implicit -inf padding on both sides, at most half the kernel. */
  padding?: Pair;
  dilation?: Pair;
  /** Round the output size up, so a last partial window (starting inside the input or left padding) counts. */
  ceilMode?: boolean;
  /** Also return the argmax positions (flat h * W + w within each input plane, int32). */
  returnIndices?: boolean;
}

/** torch.nn.functional.max_pool2d. With returnIndices: {values, indices}. Ties go to the first maximum. */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions & { returnIndices: true }): ValuesIndices;
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor | ValuesIndices;
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor | ValuesIndices {
  const op = 'maxPool2d';
  checkOptions(opts, op);
  const ceilMode = checkBool(opts.ceilMode, op, 'ceilMode');
  const returnIndices = checkBool(opts.returnIndices, op, 'returnIndices');
  const r = withBatchDim(x, op, true, (x4) => {
    checkFloat(x4, op, 'input');
    const { p, Ho, Wo } = poolParams(op, x4, opts.kernelSize, opts.stride, opts.padding, opts.dilation, ceilMode);
    const [N, C] = x4.shape;
    const outShape = [N, C, Ho, Wo];
    const k = x4.backend.maxPool2d(x4, p);
    const indices = wrap(k.indices, outShape, 'int32');
    const inShape = x4.shape;
    // The gradient goes to the recorded argmax of each window (summed where windows overlap).
    const values = record(op, [x4], wrap(k.values, outShape, x4.dtype), (g) => [
      wrap(g.backend.maxPool2dBackward(g, indices, inShape), inShape, g.dtype),
    ], [indices]);
    return { values, indices };
  });
  if (returnIndices) return r;
  r.indices.dispose(); // the backward keeps its own reference
  return r.values;
}

// ---------------------------------------------------------------- average pooling

export interface AvgPool2dOptions {
  kernelSize: Pair;
  /** Default: kernelSize. */
  stride?: Pair | null;
  /** Implicit zero padding on both sides, at most half the kernel. */
  padding?: Pair;
  ceilMode?: boolean;
  /** Divide by the window size including padding (true, default) or by the number of real pixels. */
  countIncludePad?: boolean;
  /** Divide every window sum by this instead. */
  divisorOverride?: number | null;
}

/**
 * One axis of torch's avg_pool2d window rule: a window starts at o·stride − pad and ends at
 * min(start + k, n + pad) — a ceil-mode window is clipped at the padded edge, and that clipped size is the
 * count_include_pad divisor; the pixels actually summed are those inside [0, n). A window with no real
 * pixel gives 0.
 */
function avgPoolAxis(n: number, outSize: number, k: number, s: number, pad: number, countIncludePad: boolean, divisor: number | null): AxisMap {
  const m = zeroAxisMap(outSize, n);
  for (let o = 0; o < outSize; o++) {
    const start = o * s - pad;
    const end = Math.min(start + k, n + pad);
    const lo = Math.max(start, 0);
    const hi = Math.min(end, n);
    if (lo >= hi) continue;
    const count = divisor !== null ? 1 : countIncludePad ? end - start : hi - lo;
    for (let i = lo; i < hi; i++) m.weights[o * n + i] = 1 / count;
  }
  return m;
}

/** torch.nn.functional.avg_pool2d. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  checkOptions(opts, op);
  const ceilMode = checkBool(opts.ceilMode, op, 'ceilMode');
  const countIncludePad = opts.countIncludePad === undefined ? true : checkBool(opts.countIncludePad, op, 'countIncludePad');
  const divisor = opts.divisorOverride ?? null;
  if (divisor !== null && (!Number.isInteger(divisor) || divisor === 0)) {
    throw new RangeError(`${op}: divisorOverride must be a nonzero integer, got ${String(divisor)}`);
  }
  if ((opts as { dilation?: unknown }).dilation !== undefined) {
    throw new TypeError(`${op}: avg_pool2d has no dilation option (torch's neither)`);
  }
  return withBatchDim(x, op, true, (x4) => {
    checkFloat(x4, op, 'input');
    const { p, Ho, Wo } = poolParams(op, x4, opts.kernelSize, opts.stride, opts.padding, 1, ceilMode);
    const [, , H, W] = x4.shape;
    const rows = avgPoolAxis(H, Ho, p.kernelSize[0], p.stride[0], p.padding[0], countIncludePad, divisor);
    const cols = avgPoolAxis(W, Wo, p.kernelSize[1], p.stride[1], p.padding[1], countIncludePad, divisor);
    const y = applySeparable2d(x4, rows, cols, op);
    return divisor === null ? y : mul(y, 1 / divisor);
  });
}

/** Adaptive windows along one axis: output i averages [floor(i·n/out), ceil((i+1)·n/out)). */
function adaptiveAxis(n: number, outSize: number): AxisMap {
  const m = zeroAxisMap(outSize, n);
  for (let o = 0; o < outSize; o++) {
    const lo = Math.floor((o * n) / outSize);
    const hi = Math.ceil(((o + 1) * n) / outSize);
    for (let i = lo; i < hi; i++) m.weights[o * n + i] = 1 / (hi - lo);
  }
  return m;
}

/** torch.nn.functional.adaptive_avg_pool2d; outputSize is a number or [h, w] where null keeps that input size. */
export function adaptiveAvgPool2d(x: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  const op = 'adaptiveAvgPool2d';
  return withBatchDim(x, op, true, (x4) => {
    checkFloat(x4, op, 'input');
    const [, , H, W] = x4.shape;
    const given = typeof outputSize === 'number' ? [outputSize, outputSize] : Array.isArray(outputSize) ? [...outputSize] : null;
    if (!given || given.length !== 2 || !given.every((v) => v === null || (Number.isInteger(v) && (v as number) >= 1))) {
      throw new RangeError(`${op}: outputSize must be a positive integer or a pair of them (null keeps the input size), got ${JSON.stringify(outputSize)}`);
    }
    if (H < 1 || W < 1) throw new RangeError(`${op}: input must have non-empty spatial dimensions, got shape ${fmtShape(x4.shape)}`);
    const Ho = given[0] ?? H;
    const Wo = given[1] ?? W;
    return applySeparable2d(x4, adaptiveAxis(H, Ho), adaptiveAxis(W, Wo), op);
  });
}
