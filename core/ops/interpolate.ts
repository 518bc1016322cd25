// torch.nn.functional.interpolate for 4-D NCHW tensors. Every mode is separable: each output row mixes
// input rows with fixed weights and each output column mixes input columns, so we build one weight matrix
// per axis on the host (the rules below) and apply them with matmul (separable.ts). The gradient is
// matmul's, i.e. the exact transpose of the forward.
//
// The rules follow ATen's UpSample.h / UpSampleKernel.cpp. ATen computes scales and source coordinates in
// the tensor's own float type (float for float32, double for float64; nearest always in float), then
// floors or truncates them to pick pixels. We round at the same places (`r` below) so the same pixels
// are picked even where a coordinate lands next to an integer; the weights themselves stay in double.
import { keysCubic } from '../keys-cubic';
import { Tensor } from '../tensor';
import { fmtShape } from '../shape';
import { checkFloat, checkTensor } from './util';
import { applySeparable2d, zeroAxisMap, type AxisMap } from './separable';
import { adaptiveAvgPool2d } from './pool';
import { checkTensorSize, fmtBytes, fmtCount } from './size-limit';

/**
 * The most entries one axis's weight matrix (output size × input size, float64 on the host) may have:
 * 2^26 = 512 MiB, e.g. 8192 → 8192. The matrices are dense, so resizing a very long axis in one step
 * costs memory quadratic in its length.
 */
export const MAX_AXIS_MAP_ENTRIES = 2 ** 26;

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'bilinear' | 'bicubic' | 'area';

export interface InterpolateOptions {
  /** Output [H, W] (or one number for both). Exactly one of size and scaleFactor. */
  size?: number | readonly [number, number];
  /** Output size = floor(input size × scale); the scale itself is also used to place samples (see below). */
  scaleFactor?: number | readonly [number, number];
  mode?: InterpolateMode;
  /** bilinear / bicubic only: map corner pixel centres onto each other. Default false. */
  alignCorners?: boolean | null;
  /** bilinear / bicubic only: widen the kernel when downsampling (torch's _upsample_*_aa, like PIL). */
  antialias?: boolean;
  /**
   * With scaleFactor, torch places samples with 1/scaleFactor rather than in/out unless this is true
   * (then only the output size is kept). It matters when floor(in·scale) ≠ in·scale, as in DINOv2.
   */
  recomputeScaleFactor?: boolean | null;
}

type Round = (v: number) => number;
const identity: Round = (v) => v;

const MODES: readonly InterpolateMode[] = ['nearest', 'nearest-exact', 'bilinear', 'bicubic', 'area'];

// ---------------------------------------------------------------- coordinates (UpSample.h)

/** compute_scales_value: the reciprocal of a given scale factor, else in/out. */
function scaleValue(n: number, out: number, scale: number | null, r: Round): number {
  return scale !== null && scale > 0 ? r(1 / scale) : r(n / out);
}

/** area_pixel_compute_scale: align_corners maps [0, n−1] onto [0, out−1]. */
function areaScale(n: number, out: number, alignCorners: boolean, scale: number | null, r: Round): number {
  if (alignCorners) return out > 1 ? r((n - 1) / (out - 1)) : 0;
  return scaleValue(n, out, scale, r);
}

/** area_pixel_compute_source_index: the input coordinate output pixel i samples (pixel centres at k + 0.5). */
function sourceIndex(scale: number, i: number, alignCorners: boolean, cubic: boolean, r: Round): number {
  if (alignCorners) return r(scale * i);
  const src = r(scale * (i + 0.5) - 0.5);
  // Linear interpolation clamps at the left edge; cubic keeps the negative coordinate (its taps are clamped).
  return !cubic && src < 0 ? 0 : src;
}

// ---------------------------------------------------------------- per-axis weight rules

/** 'nearest': floor(i · scale) (torch's legacy rule); 'nearest-exact': floor((i + 0.5) · scale). */
function nearestAxis(n: number, out: number, scale: number | null, exact: boolean): AxisMap {
  const f = Math.fround;
  const s = scaleValue(n, out, scale, f);
  const m = zeroAxisMap(out, n);
  for (let i = 0; i < out; i++) {
    const src = Math.min(Math.floor(f(exact ? (i + 0.5) * s : i * s)), n - 1);
    m.weights[i * n + src] = 1;
  }
  return m;
}

function identityAxis(n: number): AxisMap {
  const m = zeroAxisMap(n, n);
  for (let i = 0; i < n; i++) m.weights[i * n + i] = 1;
  return m;
}

/** Two taps, floor(src) and the next one (clamped), weighted by the distance. */
function linearAxis(n: number, out: number, alignCorners: boolean, scale: number | null, r: Round): AxisMap {
  // torch copies when the size does not change, even if a scale factor ≠ 1 was given.
  if (out === n) return identityAxis(n);
  const s = areaScale(n, out, alignCorners, scale, r);
  const m = zeroAxisMap(out, n);
  for (let i = 0; i < out; i++) {
    const src = sourceIndex(s, i, alignCorners, false, r);
    const i0 = Math.min(Math.trunc(src), n - 1);
    const i1 = i0 < n - 1 ? i0 + 1 : i0;
    const l1 = Math.min(Math.max(r(src - i0), 0), 1);
    m.weights[i * n + i0] += r(1 - l1);
    m.weights[i * n + i1] += l1;
  }
  return m;
}


/** Four taps floor(src) − 1 … floor(src) + 2, clamped to the edge, Keys kernel with a = −0.75 (as torch). */
function cubicAxis(n: number, out: number, alignCorners: boolean, scale: number | null, r: Round): AxisMap {
  const s = areaScale(n, out, alignCorners, scale, r);
  const m = zeroAxisMap(out, n);
  for (let i = 0; i < out; i++) {
    const src = sourceIndex(s, i, alignCorners, true, r);
    const base = Math.min(Math.floor(src), n - 1);
    const t = Math.min(Math.max(r(src - base), 0), 1);
    for (let j = 0; j < 4; j++) {
      const k = Math.max(Math.min(base - 1 + j, n - 1), 0);
      m.weights[i * n + k] += keysCubic(t + 1 - j, -0.75);
    }
  }
  return m;
}

/**
 * Antialiased resampling (_compute_weights_aa): the filter (triangle, or Keys with a = −0.5 as PIL) is
 * stretched by the downsampling factor so every input pixel contributes; taps are cut at the image edge
 * and the weights renormalised to sum to 1. Upsampling keeps the unstretched filter.
 */
function antialiasAxis(n: number, out: number, alignCorners: boolean, scale: number | null, r: Round, cubic: boolean): AxisMap {
  const s = areaScale(n, out, alignCorners, scale, r);
  const halfTaps = cubic ? 2 : 1;
  const support = s >= 1 ? r(halfTaps * s) : halfTaps;
  const invScale = s >= 1 ? r(1 / s) : 1;
  const filter = cubic ? (x: number) => keysCubic(x, -0.5) : (x: number) => Math.max(0, 1 - Math.abs(x));
  const m = zeroAxisMap(out, n);
  for (let i = 0; i < out; i++) {
    const center = r(s * (i + 0.5));
    const lo = Math.max(Math.trunc(r(center - support) + 0.5), 0);
    const hi = Math.min(Math.trunc(r(center + support) + 0.5), n);
    const w: number[] = [];
    for (let k = lo; k < hi; k++) w.push(filter(r((k - center + 0.5) * invScale)));
    const total = w.reduce((a, b) => a + b, 0);
    for (let j = 0; j < w.length; j++) m.weights[i * n + lo + j] = total !== 0 ? w[j] / total : w[j];
  }
  return m;
}

// ---------------------------------------------------------------- argument handling

function checkAxisMap(n: number, out: number, axis: string, op: string): void {
  const entries = n * out;
  if (entries > MAX_AXIS_MAP_ENTRIES) {
    throw new RangeError(
      `${op}: resizing the ${axis} from ${n} to ${out} needs a ${out}×${n} weight matrix (${fmtCount(entries)} entries, ` +
        `${fmtBytes(entries * 8)}), above the limit of ${fmtCount(MAX_AXIS_MAP_ENTRIES)} entries; resize in smaller steps`,
    );
  }
}

function pairOf(v: number | readonly number[], op: string, arg: string): [number, number] {
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) ? [...v] : [];
  if (p.length !== 2 || !p.every((e) => typeof e === 'number')) {
    throw new TypeError(`${op}: ${arg} must be a number or a pair [h, w] for a 4-D input, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}

interface Plan {
  out: [number, number];
  /** Scale factors handed to the coordinate rules (null: use in/out). */
  scales: [number | null, number | null];
}

function plan(x: Tensor, opts: InterpolateOptions, op: string): Plan {
  const [, , H, W] = x.shape;
  const { size, scaleFactor } = opts;
  const hasScale = scaleFactor !== undefined && scaleFactor !== null;
  if (size !== undefined && size !== null) {
    if (hasScale) throw new Error(`${op}: give only one of size and scaleFactor`);
    if (opts.recomputeScaleFactor) throw new Error(`${op}: recomputeScaleFactor is not meaningful with an explicit size`);
    const out = pairOf(size, op, 'size');
    if (!out.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new RangeError(`${op}: size must hold positive integers, got ${JSON.stringify(size)}`);
    }
    return { out, scales: [null, null] };
  }
  if (!hasScale) throw new Error(`${op}: give either size or scaleFactor`);
  const s = pairOf(scaleFactor, op, 'scaleFactor');
  if (!s.every((v) => Number.isFinite(v) && v > 0)) {
    throw new RangeError(`${op}: scaleFactor must hold positive finite numbers, got ${JSON.stringify(scaleFactor)}`);
  }
  const out: [number, number] = [Math.floor(H * s[0]), Math.floor(W * s[1])];
  if (out[0] < 1 || out[1] < 1) {
    throw new RangeError(`${op}: scaleFactor ${JSON.stringify(scaleFactor)} gives an empty output ${fmtShape(out)} for input ${fmtShape(x.shape)}`);
  }
  return { out, scales: opts.recomputeScaleFactor ? [null, null] : s };
}

/** torch.nn.functional.interpolate for [N, C, H, W] inputs. */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const op = 'interpolate';
  checkTensor(x, op, 'input');
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${op}: options must be an object with size or scaleFactor, got ${String(opts)}`);
  const mode = opts.mode ?? 'nearest';
  if (!MODES.includes(mode)) throw new TypeError(`${op}: mode must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode)}`);
  const smooth = mode === 'bilinear' || mode === 'bicubic';
  if (!smooth && opts.alignCorners !== undefined && opts.alignCorners !== null) {
    throw new Error(`${op}: alignCorners can only be set with mode 'bilinear' or 'bicubic', got mode '${mode}'`);
  }
  const alignCorners = opts.alignCorners ?? false;
  const antialias = opts.antialias ?? false;
  if (typeof alignCorners !== 'boolean') throw new TypeError(`${op}: alignCorners must be a boolean, got ${String(alignCorners)}`);
  if (typeof antialias !== 'boolean') throw new TypeError(`${op}: antialias must be a boolean, got ${String(antialias)}`);
  if (antialias && !smooth) throw new Error(`${op}: antialias is only supported for mode 'bilinear' and 'bicubic', got mode '${mode}'`);
  if (x.rank !== 4) throw new Error(`${op}: input must be 4-D [N, C, H, W], got shape ${fmtShape(x.shape)}`);
  checkFloat(x, op, 'input');
  if (x.shape[2] < 1 || x.shape[3] < 1) throw new RangeError(`${op}: input must have non-empty spatial dimensions, got shape ${fmtShape(x.shape)}`);

  const { out, scales } = plan(x, opts, op);
  checkTensorSize([x.shape[0], x.shape[1], out[0], out[1]], x.dtype, op);
  if (mode !== 'area') {
    checkAxisMap(x.shape[2], out[0], 'height', op);
    checkAxisMap(x.shape[3], out[1], 'width', op);
  }
  if (mode === 'area') return adaptiveAvgPool2d(x, out);
  const r: Round = x.dtype === 'float64' ? identity : Math.fround;
  const axis = (n: number, o: number, s: number | null): AxisMap => {
    switch (mode) {
      case 'nearest': return nearestAxis(n, o, s, false);
      case 'nearest-exact': return nearestAxis(n, o, s, true);
      case 'bilinear': return antialias ? antialiasAxis(n, o, alignCorners, s, r, false) : linearAxis(n, o, alignCorners, s, r);
      default: return antialias ? antialiasAxis(n, o, alignCorners, s, r, true) : cubicAxis(n, o, alignCorners, s, r);
    }
  };
  const [, , H, W] = x.shape;
  return applySeparable2d(x, axis(H, out[0], scales[0]), axis(W, out[1], scales[1]), op);
}
