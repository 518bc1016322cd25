// Shared pieces of the CAM metrics: argument checks, targets, pixel ranking, the values that replace
// removed pixels, and the trapezoidal area under a curve.
//
// Every metric takes the model, the input batch N×C×H×W exactly as the model sees it (normalised), and
// one CAM per sample as an N×H×W tensor at the input size (what BaseCAM.forward returns by default).
import { Tensor } from '../../core/tensor';
import { tensor, onesLike, zerosLike } from '../../core/ops/creation';
import { div } from '../../core/ops/elementwise';
import { mean } from '../../core/ops/reduce';
import { expand, slice } from '../../core/ops/views';
import { conv2d } from '../../core/ops/conv';
import { fmtShape } from '../../core/shape';
import { ClassifierOutputSoftmaxTarget, type Target } from '../targets';

/**
 * A class index c — scored as its softmax probability softmax(z)[c], what confidence metrics use — or
 * any target (e.g. ClassifierOutputTarget for the raw logit), applied to one sample's output.
 */
export type MetricTarget = number | Target;

/**
 * What removed (masked) pixels become, per channel of the model's input:
 *   'zero' — 0; for an input normalised with the dataset's mean and std this is the dataset's mean colour;
 *   'mean' — the image's own mean of that channel;
 *   'blur' — a Gaussian blur of the image (std `blurSigma` pixels), so only fine detail is removed.
 */
export type PixelFill = 'zero' | 'mean' | 'blur';

export interface Dims {
  N: number;
  C: number;
  H: number;
  W: number;
}

export function checkInputAndCams(input: unknown, cams: unknown, who: string): Dims {
  if (!(input instanceof Tensor) || input.rank !== 4) {
    throw new TypeError(`${who}: input must be an N×C×H×W Tensor${input instanceof Tensor ? `, got ${fmtShape(input.shape)}` : ''}`);
  }
  const [N, C, H, W] = input.shape;
  if (!(cams instanceof Tensor) || cams.rank !== 3 || cams.shape[0] !== N || cams.shape[1] !== H || cams.shape[2] !== W) {
    throw new Error(`${who}: cams must be an N×H×W Tensor matching the input (${N}×${H}×${W}), got ${cams instanceof Tensor ? fmtShape(cams.shape) : typeof cams}`);
  }
  return { N, C, H, W };
}

/** The CAMs on the host, checked to be finite. */
export async function camValues(cams: Tensor, who: string): Promise<Float32Array> {
  const v = Float32Array.from(await cams.data());
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${who}: cams must be finite, element ${bad} is ${v[bad]}`);
  return v;
}

export function resolveTargets(targets: unknown, N: number, who: string): Target[] {
  if (!Array.isArray(targets)) throw new TypeError(`${who}: targets must be an array with one class index or target per sample`);
  if (targets.length !== N) throw new Error(`${who}: got ${targets.length} targets for a batch of ${N}; give one per sample`);
  return targets.map((t, i) => {
    if (typeof t === 'number') {
      if (!Number.isInteger(t) || t < 0) throw new RangeError(`${who}: targets[${i}] must be a class index (a non-negative integer), got ${t}`);
      return new ClassifierOutputSoftmaxTarget(t);
    }
    if (typeof t === 'function' || (t !== null && typeof t === 'object' && typeof (t as { call?: unknown }).call === 'function')) return t as Target;
    throw new TypeError(`${who}: targets[${i}] must be a class index or a target, got ${String(t)}`);
  });
}

export function checkFill(fill: unknown, who: string, arg = 'fill'): PixelFill {
  if (fill !== 'zero' && fill !== 'mean' && fill !== 'blur') throw new TypeError(`${who}: ${arg} must be 'zero', 'mean' or 'blur', got ${JSON.stringify(fill)}`);
  return fill;
}

export function checkPositive(v: unknown, who: string, arg: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${who}: ${arg} must be a positive number, got ${String(v)}`);
  return v;
}

/**
 * Pixel indices (row-major, h·W + w) from the highest CAM value to the lowest; equal values keep
 * index order, so the ranking is deterministic.
 */
export function rankDescending(values: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: values.length }, (_, i) => i);
  return order.sort((a, b) => values[b] - values[a] || a - b);
}

/** Gaussian taps exp(−i²/2σ²), i = −r..r with r = ceil(3σ), summing to 1. */
export function gaussianTaps(sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const taps = Array.from({ length: 2 * r + 1 }, (_, k) => Math.exp(-((k - r) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  return Float32Array.from(taps, (t) => t / total);
}

/**
 * Separable Gaussian blur of N×C×H×W, normalised at the borders: blur(x) / blur(1), i.e. the kernel is
 * renormalised over the pixels inside the image (no dark frame from zero padding).
 */
export function gaussianBlur(x: Tensor, sigma: number): Tensor {
  const C = x.shape[1];
  const taps = gaussianTaps(sigma);
  const r = (taps.length - 1) / 2;
  const blur = (t: Tensor, channels: number): Tensor => {
    const rep = new Float32Array(channels * taps.length);
    for (let c = 0; c < channels; c++) rep.set(taps, c * taps.length);
    const kv = tensor(rep, [channels, 1, taps.length, 1], { device: t.device });
    const kh = tensor(rep, [channels, 1, 1, taps.length], { device: t.device });
    return conv2d(conv2d(t, kv, null, { padding: [r, 0], groups: channels }), kh, null, { padding: [0, r], groups: channels });
  };
  const ones = onesLike(slice(slice(x, 0, 0, 1), 1, 0, 1));
  return div(blur(x, C), blur(ones, 1));
}

/** The replacement values for removed pixels (same shape as x). */
export function substrate(x: Tensor, fill: PixelFill, blurSigma: number): Tensor {
  if (fill === 'zero') return zerosLike(x);
  if (fill === 'mean') return expand(mean(x, [2, 3], true), x.shape);
  return gaussianBlur(x, blurSigma);
}

/** Area under a curve sampled at equally spaced points of [0, 1] (trapezoidal rule). */
export function trapezoidAuc(curve: ArrayLike<number>): number {
  const n = curve.length - 1;
  if (n < 1) throw new Error('trapezoidAuc: a curve needs at least two points');
  let s = (curve[0] + curve[n]) / 2;
  for (let i = 1; i < n; i++) s += curve[i];
  return s / n;
}
