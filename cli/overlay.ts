// Drawing explanations: the seed's visualize.py style (min-max with 1e-8, JET, 0.5/0.5 blend) for strips.
import * as F from '../index';
import type { RgbImage } from './util/canvas';

/** visualize.py: cam' = (cam − min)/(max − min + 1e-8); heat = JET(uint8(255·cam')); addWeighted(img, 0.5, heat, 0.5). */
export function overlayCam(img: RgbImage, cam: Float32Array): RgbImage {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of cam) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const idx = new Uint8Array(cam.length);
  for (let i = 0; i < cam.length; i++) {
    const v = Math.fround(Math.fround(cam[i] - lo) / Math.fround(hi - lo + 1e-8));
    idx[i] = Math.min(255, Math.max(0, Math.trunc(255 * v)));
  }
  const heat = F.applyColormapJet(idx);
  const out = new Uint8Array(img.data.length);
  // cv2.addWeighted rounds to nearest (saturate_cast)
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.round(0.5 * img.data[i] + 0.5 * heat[i]));
  return { width: img.width, height: img.height, data: out };
}
