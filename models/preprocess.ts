// The seed's preprocessing (generate_cams.py): RGB image → optional downscale so the longer side is at
// most maxSize (PIL bicubic, sizes floored) → resize to the next multiple of the patch size on each side
// (PIL bicubic: a slight stretch, not padding) → [0, 1] floats → per-channel (x − mean) / std.
// There is no default mean/std: the right one belongs to the model (torchvision ResNets and the seed's
// linear-probe trainer use ImageNet's, the seed's generate_cams.py uses CLIP's for its DINOv2 heads), and
// a wrong one changes every score without an error, so callers must say which.
import type { Tensor } from '../core/tensor';
import { tensor } from '../core/ops/creation';
import type { DeviceName } from '../core/device';
import { resizeBicubicPil } from '../image/resize';
import type { RgbImage } from '../image/types';

export const NORMALIZATIONS = {
  clip: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
} as const;

export type NormName = keyof typeof NORMALIZATIONS;

export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export interface PreprocessOptions {
  /** Longer side limit before the patch rounding (the seed: 1000). */
  maxSize?: number;
  /** Sides are rounded up to multiples of this (DINOv2: 14). 1 disables rounding. */
  patchSize?: number;
  /**
   * Required: 'imagenet' for torchvision ResNets and heads trained as the seed's dino_train.py,
   * 'clip' for the seed's generate_cams.py DINOv2 classifiers, or {mean, std} as the model was trained.
   */
  norm: NormName | Normalization;
  device?: DeviceName;
}

export interface Preprocessed {
  /** 1×3×H×W. */
  tensor: Tensor;
  gridH: number;
  gridW: number;
  /** The size the image was resized to (width, height). */
  width: number;
  height: number;
}

const NORM_REQUIRED =
  "preprocess: norm is required: 'imagenet' (torchvision ResNets, the seed's dino_train.py heads), 'clip' (the seed's generate_cams.py DINOv2 heads) or {mean, std}";

export function resolveNorm(norm: NormName | Normalization): Normalization {
  if (norm === undefined || norm === null) throw new TypeError(NORM_REQUIRED);
  if (typeof norm === 'string') {
    const n = Object.hasOwn(NORMALIZATIONS, norm) ? NORMALIZATIONS[norm as NormName] : undefined;
    if (!n) throw new TypeError(`preprocess: norm must be 'clip', 'imagenet' or {mean, std}, got ${JSON.stringify(norm)}`);
    return n;
  }
  if (!Array.isArray(norm.mean) || norm.mean.length !== 3 || !Array.isArray(norm.std) || norm.std.length !== 3 ||
    norm.mean.some((m) => typeof m !== 'number' || !Number.isFinite(m)) || norm.std.some((s) => typeof s !== 'number' || !(s > 0) || !Number.isFinite(s))) {
    throw new TypeError('preprocess: norm must have mean and std arrays of 3 finite numbers (std > 0)');
  }
  return norm;
}

/** uint8 RGB → 1×3×H×W float tensor, (v/255 − mean)/std per channel (torchvision ToTensor + Normalize). */
export function imageToTensor(img: RgbImage, norm: Normalization, device?: DeviceName): Tensor {
  const { width: W, height: H, data } = img;
  const out = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(norm.mean[c]);
    const s = Math.fround(norm.std[c]);
    for (let i = 0; i < H * W; i++) {
      // float32 steps as torchvision: v/255 in float32, then (x - mean) / std
      const x = Math.fround(data[i * 3 + c] / 255);
      out[c * H * W + i] = Math.fround(x - m) / s;
    }
  }
  return tensor(out, [1, 3, H, W], { device });
}

export function preprocess(image: RgbImage, opts: PreprocessOptions): Preprocessed {
  if (!image || !(image.data instanceof Uint8Array) || !(image.width > 0) || !(image.height > 0)) {
    throw new TypeError('preprocess: image must be {width, height, data: Uint8Array} RGB (see decodeImage)');
  }
  if (!opts || opts.norm === undefined) throw new TypeError(NORM_REQUIRED);
  const maxSize = opts.maxSize ?? 1000;
  const patch = opts.patchSize ?? 14;
  if (!(maxSize > 0)) throw new RangeError(`preprocess: maxSize must be positive, got ${maxSize}`);
  if (!Number.isInteger(patch) || patch < 1) throw new RangeError(`preprocess: patchSize must be a positive integer, got ${patch}`);
  const norm = resolveNorm(opts.norm);
  let img = image;
  let w = image.width;
  let h = image.height;
  if (Math.max(w, h) > maxSize) {
    const scale = maxSize / Math.max(w, h);
    w = Math.floor(w * scale);
    h = Math.floor(h * scale);
    img = resizeBicubicPil(img, w, h);
  }
  const H2 = Math.ceil(h / patch) * patch;
  const W2 = Math.ceil(w / patch) * patch;
  if (H2 !== img.height || W2 !== img.width) img = resizeBicubicPil(img, W2, H2);
  return { tensor: imageToTensor(img, norm, opts.device), gridH: H2 / patch, gridW: W2 / patch, width: W2, height: H2 };
}
