// Pixels for the page: RGB images onto canvases (the pictures of traced tensors are shared with
// `explain --trace`, cli/util/trace-pictures.ts), and downloads.
import type * as F from '../index';
export { jetImage, signedImage } from '../cli/util/trace-pictures';

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

export function downloadBytes(bytes: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
