// CLIP's image preprocessing, clip._transform(n_px): torchvision Resize(n_px, BICUBIC) on a PIL image (the shorter
// side to n_px, the longer to int(n_px · long / short)), CenterCrop(n_px) with Python's round-half-to-even offsets,
// ToTensor and Normalize with CLIP's mean/std.
import type { DeviceName } from '../../core/device';
import type { Tensor } from '../../core/tensor';
import { resizeBicubicPil } from '../../image/resize';
import type { RgbImage } from '../../image/types';
import { imageToTensor, NORMALIZATIONS, resolveNorm, type Normalization } from '../preprocess';

export interface ClipPreprocessOptions {
  /** The model's imageResolution (224 for most released CLIPs, 336 for ViT-L/14@336px). */
  size: number;
  device?: DeviceName;
  /** Default CLIP's mean/std (what every OpenAI CLIP was trained with). */
  norm?: Normalization;
}

export interface ClipPreprocessed {
  /** 1×3×size×size, normalised with CLIP's mean and std. */
  tensor: Tensor;
  /** The size the image was resized to before the crop, and the crop's top-left corner in it. */
  resized: { width: number; height: number };
  crop: { left: number; top: number };
  /** The cropped size×size pixels the tensor holds (for overlays). */
  image: RgbImage;
}

/** Python 3's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function clipPreprocess(image: RgbImage, opts: ClipPreprocessOptions): ClipPreprocessed {
  if (!image || !(image.data instanceof Uint8Array) || !(image.width > 0) || !(image.height > 0) || image.data.length !== image.width * image.height * 3) {
    throw new TypeError('clipPreprocess: image must be {width, height, data: Uint8Array} RGB (see decodeImage)');
  }
  const n = opts?.size;
  if (!Number.isInteger(n) || (n as number) < 1) throw new RangeError(`clipPreprocess: size must be a positive integer (the model's imageResolution), got ${JSON.stringify(n)}`);
  const { width: w, height: h } = image;
  const [short, long] = w <= h ? [w, h] : [h, w];
  const newLong = Math.trunc((n * long) / short);
  const [rw, rh] = w <= h ? [n, newLong] : [newLong, n];
  const resized = resizeBicubicPil(image, rw, rh);
  const top = roundHalfEven((rh - n) / 2);
  const left = roundHalfEven((rw - n) / 2);
  const data = new Uint8Array(n * n * 3);
  for (let y = 0; y < n; y++) data.set(resized.data.subarray(((y + top) * rw + left) * 3, ((y + top) * rw + left + n) * 3), y * n * 3);
  const image2 = { width: n, height: n, data };
  return {
    tensor: imageToTensor(image2, opts.norm === undefined ? NORMALIZATIONS.clip : resolveNorm(opts.norm), opts.device),
    image: image2,
    resized: { width: rw, height: rh },
    crop: { left, top },
  };
}
