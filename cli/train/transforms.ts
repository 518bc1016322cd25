// The seed's torchvision transforms (tutorials/dino_train.py) on RgbImages, with PIL's bicubic resize:
//   train: RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3), BICUBIC) + RandomHorizontalFlip(0.5)
//   eval:  Resize(resize, BICUBIC) (shorter side) + CenterCrop(size)
// followed by ToTensor + Normalize. Random numbers come from a seeded generator (ours, not torch's, so
// the crops differ from torch's for the same seed; the distribution and the arithmetic are the same).
import * as F from '../../index';
import { crop, type RgbImage } from '../../image/canvas';

export interface Rng {
  uniform: () => number;
}

/** Python's round(): halves go to the even neighbour (round(58.5) = 58, round(1.5) = 2). */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision Resize(size) with an int size: the shorter side becomes `size`, the longer int(size·long/short). */
export function shorterSideSize(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.floor((size * height) / width) };
  return { width: Math.floor((size * width) / height), height: size };
}

/** torchvision CenterCrop offsets: int(round((H − h)/2)), int(round((W − w)/2)). */
export function centerCropBox(width: number, height: number, size: number): { left: number; top: number } {
  return { left: pyRound((width - size) / 2), top: pyRound((height - size) / 2) };
}

/** Crops `size`×`size` from the centre; an image smaller than that is padded with black first (as torchvision). */
export function centerCrop(img: RgbImage, size: number): RgbImage {
  if (img.width < size || img.height < size) {
    const W = Math.max(img.width, size);
    const H = Math.max(img.height, size);
    // torchvision pads (W − w)//2 left/top and the rest right/bottom, with zeros.
    const padL = Math.floor((W - img.width) / 2);
    const padT = Math.floor((H - img.height) / 2);
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y + padT) * W + padL) * 3);
    img = { width: W, height: H, data };
    if (W === size && H === size) return img;
  }
  const { left, top } = centerCropBox(img.width, img.height, size);
  return crop(img, left, top, size, size);
}

/** The seed's evaluation transform: Resize(resize) on the shorter side (bicubic) then CenterCrop(size). */
export function evalTransform(img: RgbImage, size: number, resize: number): RgbImage {
  const s = shorterSideSize(img.width, img.height, resize);
  const r = s.width === img.width && s.height === img.height ? img : F.resizeBicubicPil(img, s.width, s.height);
  return centerCrop(r, size);
}

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** torchvision RandomResizedCrop.get_params: 10 tries at a random area and log-uniform aspect, else a central crop. */
export function randomResizedCropParams(
  width: number, height: number, rng: Rng, scale: readonly [number, number] = [0.08, 1], ratio: readonly [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const area = width * height;
  const logR0 = Math.log(ratio[0]);
  const logR1 = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const aspect = Math.exp(logR0 + (logR1 - logR0) * rng.uniform());
    const w = pyRound(Math.sqrt(targetArea * aspect));
    const h = pyRound(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = Math.floor(rng.uniform() * (height - h + 1));
      const left = Math.floor(rng.uniform() * (width - w + 1));
      return { top, left, height: h, width: w };
    }
  }
  // Fallback to a central crop with the aspect ratio clamped to the range.
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    w = width;
    h = pyRound(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    h = height;
    w = pyRound(h * Math.max(ratio[0], ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Mirrors an image left to right. */
export function hflip(img: RgbImage): RgbImage {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = (y * W + x) * 3;
      const d = (y * W + (W - 1 - x)) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  }
  return { width: W, height: H, data: out };
}

/** The seed's training transform: RandomResizedCrop(size, bicubic) then RandomHorizontalFlip(p = 0.5). */
export function trainTransform(img: RgbImage, size: number, rng: Rng): RgbImage {
  const b = randomResizedCropParams(img.width, img.height, rng);
  const c = crop(img, b.left, b.top, b.width, b.height);
  const r = c.width === size && c.height === size ? c : F.resizeBicubicPil(c, size, size);
  return rng.uniform() < 0.5 ? hflip(r) : r;
}

/**
 * ToTensor + Normalize into `out` at sample `index` of a [N, 3, H, W] buffer, with the same float32 steps
 * as the library's imageToTensor (v/255, then (x − mean)/std).
 */
export function writeNormalized(img: RgbImage, norm: F.Normalization, out: Float32Array, index: number): void {
  const { width: W, height: H, data } = img;
  const base = index * 3 * H * W;
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(norm.mean[c]);
    const s = Math.fround(norm.std[c]);
    const o = base + c * H * W;
    for (let i = 0; i < H * W; i++) out[o + i] = Math.fround(Math.fround(data[i * 3 + c] / 255) - m) / s;
  }
}
