// Pictures of traced tensors, shared by the page (web/) and `explain --trace`: maps already in [0, 1] with
// OpenCV's JET, and signed values with a blue-white-red scale centred at 0 (scaled by the largest
// magnitude), so a sign is never hidden by a min-max stretch.
import * as F from '../../index';
import { createImage, blit } from '../../image/canvas';

/** Values in [0, 1] through JET, with showCamOnImage's uint8(255·v) truncation. */
export function jetImage(values: ArrayLike<number>, width: number, height: number): F.RgbImage {
  const u8 = new Uint8Array(width * height);
  for (let i = 0; i < u8.length; i++) u8[i] = Math.min(255, Math.max(0, Math.trunc(255 * values[i])));
  return { width, height, data: F.applyColormapJet(u8) };
}

/** Any values: negative blue, zero white, positive red. */
export function signedImage(values: ArrayLike<number>, width: number, height: number, scale?: number): F.RgbImage {
  let m = scale ?? 0;
  if (scale === undefined) for (let i = 0; i < width * height; i++) m = Math.max(m, Math.abs(values[i]));
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = m > 0 ? Math.max(-1, Math.min(1, values[i] / m)) : 0;
    const a = Math.round(255 * (1 - Math.abs(v)));
    data.set(v >= 0 ? [255, a, a] : [a, a, 255], i * 3);
  }
  return { width, height, data };
}

/** Nearest-neighbour enlargement, for feature grids of a few cells. */
export function enlarge(img: F.RgbImage, factor: number): F.RgbImage {
  const out = createImage(img.width * factor, img.height * factor);
  const d = out.data as Uint8Array;
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const s = (Math.floor(y / factor) * img.width + Math.floor(x / factor)) * 3;
      d.set(img.data.subarray(s, s + 3), (y * out.width + x) * 3);
    }
  }
  return out;
}

/** All channels of a 1×C×h×w step side by side (`perRow` a row, 1 px gaps), one shared signed scale. */
export function channelGrid(data: ArrayLike<number>, C: number, h: number, w: number, perRow = 8): F.RgbImage {
  let m = 0;
  for (let i = 0; i < C * h * w; i++) m = Math.max(m, Math.abs(data[i]));
  const rows = Math.ceil(C / perRow);
  const out = createImage(perRow * (w + 1) - 1, rows * (h + 1) - 1, [128, 128, 128]);
  for (let c = 0; c < C; c++) {
    const tile = signedImage(Array.from({ length: h * w }, (_, i) => data[c * h * w + i]), w, h, m);
    blit(out, tile, (c % perRow) * (w + 1), Math.floor(c / perRow) * (h + 1));
  }
  return out;
}
