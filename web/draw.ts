// Pixels for the page: RGB images onto canvases, and pictures of the trace's tensors (maps in [0, 1] with
// JET, signed values with a blue-white-red scale centred at 0 so a sign is never hidden by the scaling).
import * as F from '../index';

export function putImage(canvas: HTMLCanvasElement, img: F.RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('this browser gives no 2D canvas context');
  const px = ctx.createImageData(img.width, img.height);
  for (let i = 0, n = img.width * img.height; i < n; i++) {
    px.data[i * 4] = img.data[i * 3];
    px.data[i * 4 + 1] = img.data[i * 3 + 1];
    px.data[i * 4 + 2] = img.data[i * 3 + 2];
    px.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(px, 0, 0);
}

/** Values already in [0, 1] (maps after normalisation) through OpenCV's JET. */
export function jetImage(values: ArrayLike<number>, width: number, height: number): F.RgbImage {
  const u8 = new Uint8Array(width * height);
  // OpenCV's uint8(255·v) truncation, as showCamOnImage
  for (let i = 0; i < u8.length; i++) u8[i] = Math.min(255, Math.max(0, Math.trunc(255 * values[i])));
  return { width, height, data: F.applyColormapJet(u8) };
}

/** Any values, scaled by their largest magnitude: negative blue, zero white, positive red. */
export function signedImage(values: ArrayLike<number>, width: number, height: number): F.RgbImage {
  let m = 0;
  for (let i = 0; i < width * height; i++) m = Math.max(m, Math.abs(values[i]));
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = m > 0 ? values[i] / m : 0;
    const a = Math.round(255 * (1 - Math.abs(v)));
    data.set(v >= 0 ? [255, a, a] : [a, a, 255], i * 3);
  }
  return { width, height, data };
}

export function downloadBytes(bytes: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
