// Bounds on what one CAM call may allocate, checked before the work starts. A CAM's size is set by options
// (targetSize, the input size, the batch, the number of target layers and modes), so a typo such as
// targetSize [40000, 40000] would otherwise allocate tens of GB before anything fails. Both limits are
// per call and can be raised (Infinity turns a check off).
import { fmtBytes, fmtCount } from '../core/ops/size-limit';

export interface CamLimits {
  /** Most pixels in one returned map (height × width). Default 2^26 = 67,108,864 (8192×8192, a 64 MP photo). */
  maxOutputPixels?: number;
  /** Most bytes the maps and their upsampling temporaries may take. Default 4 GiB. */
  maxCamBytes?: number;
}

export const CAM_LIMITS: Readonly<Required<CamLimits>> = Object.freeze({
  maxOutputPixels: 2 ** 26,
  maxCamBytes: 4 * 2 ** 30,
});

/** The limits of a call: its options over the defaults, each checked. */
export function resolveLimits(opts: CamLimits, who: string): Required<CamLimits> {
  const out = { ...CAM_LIMITS };
  for (const key of ['maxOutputPixels', 'maxCamBytes'] as const) {
    const v = opts[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) throw new RangeError(`${who}: ${key} must be a positive number (or Infinity), got ${String(v)}`);
    out[key] = v;
  }
  return out;
}

export interface MapWork {
  batch: number;
  /** Target layers: each gives one full-size map, and stacking them copies it twice (stack, max(·, 0)). */
  layers: number;
  /** Other full-size maps alive meanwhile (earlier Finer modes, augSmooth's passes). */
  extraMaps: number;
  height: number;
  width: number;
  /** Where the size comes from, for the message ("targetSize [w, h]", "the input size"). */
  source: string;
}

/**
 * Checks the map size against maxOutputPixels and the memory the maps need against maxCamBytes:
 * 4 bytes × batch × height × width × (3·layers + 3 + extraMaps) — per layer the resized map, its stacked
 * copy and its max(·, 0); then the layer mean and the two steps of the final min-max normalisation.
 */
export function checkMapWork(w: MapWork, limits: Required<CamLimits>, who: string): void {
  const pixels = checkMapPixels(w.width, w.height, w.source, limits, who);
  const factor = 3 * w.layers + 3 + w.extraMaps;
  const bytes = 4 * w.batch * pixels * factor;
  if (bytes > limits.maxCamBytes) {
    throw new RangeError(
      `${who}: this CAM would need about ${fmtBytes(bytes)} (${w.batch} image(s) × ${w.width}×${w.height} pixels × 4 bytes × ${factor} ` +
        `full-size maps for ${w.layers} target layer(s) and their upsampling), above maxCamBytes (${fmtBytes(limits.maxCamBytes)}); ` +
        'use a smaller targetSize or batch, or raise maxCamBytes',
    );
  }
}

/** Checks the size of one returned map against maxOutputPixels; returns its pixel count. */
export function checkMapPixels(width: number, height: number, source: string, limits: Required<CamLimits>, who: string): number {
  const pixels = height * width;
  if (pixels > limits.maxOutputPixels) {
    throw new RangeError(
      `${who}: ${source} gives maps of ${width}×${height} = ${fmtCount(pixels)} pixels, above maxOutputPixels ` +
        `(${fmtCount(limits.maxOutputPixels)}); pass a smaller targetSize and resize the map yourself, or raise maxOutputPixels`,
    );
  }
  return pixels;
}

/** Checks one allocation a method makes (ScoreCAM's masked batch, KPCA-CAM's kernel matrix). */
export function checkWorkBytes(bytes: number, what: string, advice: string, limits: Required<CamLimits>, who: string): void {
  if (bytes > limits.maxCamBytes) {
    throw new RangeError(`${who}: ${what} would need about ${fmtBytes(bytes)}, above maxCamBytes (${fmtBytes(limits.maxCamBytes)}); ${advice}, or raise maxCamBytes`);
  }
}
