// Drawing a CAM over its image, byte-identical to the Python references (see showCamOnImage's styles).
import { assertRgbImage, type RgbImage } from './types';
import { applyColormapJet, jetColormap } from './colormap';

const f32 = Math.fround;

export interface ShowCamOptions {
  /** Weight of the image in the blend, in [0, 1] (pytorch-grad-cam's image_weight); the heatmap gets 1 - w. */
  imageWeight?: number;
  /**
   * Which reference the bytes follow:
   *   'grad-cam' (default): pytorch-grad-cam's show_cam_on_image — the cam must already lie in [0, 1];
   *   'finer-cam': the seed's visualize.py — the cam is min-max normalised first, then blended with
   *     cv2.addWeighted (rounded, not divided by the maximum).
   */
  style?: 'grad-cam' | 'finer-cam';
}

/**
 * Overlays a CAM on an image — the one overlay of the project (cam/overlay-device.ts is its 'grad-cam' style
 * computed on a tensor's device). By default exactly as pytorch-grad-cam's `show_cam_on_image(np.float32(img) / 255, cam,
 * use_rgb=True, image_weight=w)`:
 *   heat = float32(JET[uint8(255 * cam)]) / 255;  out = (1 - w) * heat + w * img / 255;
 *   out = out / max(out);  result = uint8(255 * out)
 * with NumPy's float32 arithmetic (the Python scalars 1 - w and w are rounded to float32 first) and its truncating
 * uint8 casts, so the bytes match the Python output.
 *
 * @param cam row-major `img.height x img.width` values in [0, 1] (anything whose 255 * value lies in (-1, 256),
 *   where NumPy's uint8 cast is well defined).
 */
export function showCamOnImage(img: RgbImage, cam: Float32Array, options: ShowCamOptions = {}): RgbImage {
  assertRgbImage(img, 'img');
  if (!(cam instanceof Float32Array)) throw new TypeError('cam must be a Float32Array');
  const n = img.width * img.height;
  if (cam.length !== n) {
    throw new RangeError(`cam has ${cam.length} values, expected img.width * img.height = ${img.width}*${img.height} = ${n}`);
  }
  const w = options.imageWeight ?? 0.5;
  if (typeof w !== 'number' || !(w >= 0 && w <= 1)) {
    throw new RangeError(`imageWeight must be in [0, 1] (got ${w})`);
  }
  const style = options.style ?? 'grad-cam';
  if (style === 'finer-cam') return overlayFinerCam(img, cam, w);
  if (style !== 'grad-cam') throw new RangeError(`style must be 'grad-cam' or 'finer-cam' (got ${JSON.stringify(style)})`);
  const lut = jetColormap();
  const heatW = f32(1 - w);
  const imgW = f32(w);

  const blend = new Float32Array(n * 3);
  let max = -Infinity;
  for (let p = 0; p < n; p++) {
    const scaled = f32(255 * cam[p]);
    if (!(scaled > -1 && scaled < 256)) {
      throw new RangeError(`cam[${p}] = ${cam[p]} is outside [0, 1]`);
    }
    const k = Math.trunc(scaled) * 3; // np.uint8 truncates toward zero
    for (let c = 0; c < 3; c++) {
      const heat = f32(lut[k + c] / 255);
      const pix = f32(img.data[3 * p + c] / 255);
      const v = f32(f32(heatW * heat) + f32(imgW * pix));
      blend[3 * p + c] = v;
      if (v > max) max = v;
    }
  }
  const out = new Uint8Array(n * 3);
  // max is 0 only for a black image with imageWeight 1: NumPy then computes 0/0 = NaN, and uint8(NaN) is 0 on x86.
  if (max > 0) {
    for (let i = 0; i < out.length; i++) out[i] = Math.trunc(f32(255 * f32(blend[i] / max)));
  }
  return { width: img.width, height: img.height, data: out };
}

/**
 * The seed's visualize.py: cam' = (cam − min)/(max − min + 1e-8) in float32; heat = JET(uint8(255·cam'));
 * cv2.addWeighted(img, w, heat, 1 − w, 0), which rounds half to even and saturates.
 */
function overlayFinerCam(img: RgbImage, cam: Float32Array, w: number): RgbImage {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of cam) {
    if (Number.isNaN(v)) throw new RangeError('cam holds NaN');
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const idx = new Uint8Array(cam.length);
  const span = f32(f32(hi - lo) + 1e-8);
  for (let i = 0; i < cam.length; i++) idx[i] = Math.min(255, Math.max(0, Math.trunc(255 * f32(f32(cam[i] - lo) / span))));
  const heat = applyColormapJet(idx);
  const out = new Uint8Array(img.data.length);
  // OpenCV's 8-bit addWeighted in float32: fma(img, alpha, heat·beta), then cvRound (half to even), saturated
  const alpha = f32(w);
  const beta = f32(1 - w);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, roundHalfEven(f32(img.data[i] * alpha + f32(heat[i] * beta)))));
  return { width: img.width, height: img.height, data: out };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
