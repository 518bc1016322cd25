// pytorch-grad-cam's deprocess_image and cam.py's Guided Grad-CAM recipe: a gradient image (any scale,
// either sign) becomes viewable 8-bit pixels by standardising it, shrinking it to ±0.1 std around grey:
//     y = clip((x − mean(x)) / (std(x) + 1e-5) · 0.1 + 0.5, 0, 1);  byte = trunc(255 · y)
// mean and std over all values (population std, as np.std). Guided Grad-CAM = deprocess(cam ⊙ guided backprop):
// the class-discriminative CAM gates the fine-grained guided gradients.
import { Tensor } from '../core/tensor';
import { fmtShape } from '../core/shape';

/** 8-bit pixels `data[(y·width + x)·channels + c]`; with 3 channels it is an RgbImage. */
export interface DeprocessedImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

async function hwc(img: Tensor, who: string, arg: string): Promise<{ H: number; W: number; C: number; v: Float32Array }> {
  if (!(img instanceof Tensor) || img.rank !== 3) throw new TypeError(`${who}: ${arg} must be an H×W×C Tensor (channels last, as GuidedBackpropReLUModel returns)${img instanceof Tensor ? `, got ${fmtShape(img.shape)}` : ''}`);
  const [H, W, C] = img.shape;
  const v = Float32Array.from(await img.data());
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${who}: ${arg} must be finite, element ${bad} is ${v[bad]}`);
  return { H, W, C, v };
}

function deprocessValues(v: Float32Array): Uint8Array {
  const n = v.length;
  let s = 0;
  for (let i = 0; i < n; i++) s += v[i];
  const mean = Math.fround(s / n);
  let q = 0;
  for (let i = 0; i < n; i++) q += (v[i] - mean) ** 2;
  const std = Math.fround(Math.sqrt(q / n));
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let y = Math.fround(Math.fround(Math.fround(Math.fround(v[i] - mean) / Math.fround(std + 1e-5)) * Math.fround(0.1)) + 0.5);
    y = Math.min(1, Math.max(0, y));
    out[i] = Math.trunc(Math.fround(y * 255));
  }
  return out;
}

/** deprocess_image of an H×W×C tensor. */
export async function deprocessImage(img: Tensor): Promise<DeprocessedImage> {
  const { H, W, C, v } = await hwc(img, 'deprocessImage', 'img');
  return { width: W, height: H, channels: C, data: deprocessValues(v) };
}

/** Guided Grad-CAM: deprocessImage(cam[h, w] · gb[h, w, c]); cam is H×W (e.g. one map of a CAM's output). */
export async function guidedGradCam(cam: Tensor, gb: Tensor): Promise<DeprocessedImage> {
  const who = 'guidedGradCam';
  const g = await hwc(gb, who, 'gb');
  if (!(cam instanceof Tensor) || cam.rank !== 2 || cam.shape[0] !== g.H || cam.shape[1] !== g.W) {
    throw new Error(`${who}: cam must be an H×W Tensor matching gb (${g.H}×${g.W}), got ${cam instanceof Tensor ? fmtShape(cam.shape) : typeof cam}`);
  }
  const c = await cam.data();
  const prod = new Float32Array(g.v.length);
  for (let p = 0; p < g.H * g.W; p++) for (let k = 0; k < g.C; k++) prod[p * g.C + k] = c[p] * g.v[p * g.C + k];
  return { width: g.W, height: g.H, channels: g.C, data: deprocessValues(prod) };
}
