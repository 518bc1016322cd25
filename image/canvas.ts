/**
 * A minimal RGB raster: 8 bits per channel, row-major, interleaved `RGBRGB…`,
 * no alpha. All drawing clips to the canvas.
 */

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** `width * height * 3` bytes, row-major, `data[(y * width + x) * 3 + c]`. */
  readonly data: Uint8Array;
}

export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`canvas: bad size ${width}x${height}`);
  }
}

/** A new image filled with `fill` (default white). */
export function createImage(width: number, height: number, fill: Rgb = WHITE): RgbImage {
  checkSize(width, height);
  const data = new Uint8Array(width * height * 3);
  const img = { width, height, data };
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) fillRect(img, 0, 0, width, height, fill);
  return img;
}

/** Wraps existing bytes, checking the length. */
export function imageFromData(width: number, height: number, data: Uint8Array): RgbImage {
  checkSize(width, height);
  if (data.length !== width * height * 3) {
    throw new RangeError(`canvas: ${data.length} bytes for a ${width}x${height} RGB image (need ${width * height * 3})`);
  }
  return { width, height, data };
}

export function getPixel(img: RgbImage, x: number, y: number): Rgb {
  const o = (y * img.width + x) * 3;
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
}

/** Sets one pixel; out-of-bounds (or non-integer) coordinates are ignored. */
export function setPixel(img: RgbImage, x: number, y: number, color: Rgb): void {
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const o = (y * img.width + x) * 3;
  img.data[o] = color[0];
  img.data[o + 1] = color[1];
  img.data[o + 2] = color[2];
}

/** Fills the integer rectangle `[x, x+w) × [y, y+h)`, clipped to the image. */
export function fillRect(img: RgbImage, x: number, y: number, w: number, h: number, color: Rgb): void {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(img.width, Math.floor(x + w));
  const y1 = Math.min(img.height, Math.floor(y + h));
  if (x1 <= x0 || y1 <= y0) return;
  const [r, g, b] = color;
  const d = img.data;
  for (let yy = y0; yy < y1; yy++) {
    let o = (yy * img.width + x0) * 3;
    for (let xx = x0; xx < x1; xx++, o += 3) {
      d[o] = r;
      d[o + 1] = g;
      d[o + 2] = b;
    }
  }
}

/**
 * Nearest-neighbour resampling of the source pixel under each destination
 * pixel centre: `sx = floor((dx + 0.5) * srcW / dstW)` (PIL's NEAREST).
 */
export function resizeNearest(src: RgbImage, width: number, height: number): RgbImage {
  const out = createImage(width, height, BLACK);
  blit(out, src, 0, 0, width, height);
  return out;
}

/**
 * Draws `src` scaled (nearest neighbour, pixel-centre sampling) to
 * `width × height` with its top-left corner at `(x, y)` of `dst`, clipped.
 * Defaults to the source size (a plain copy).
 */
export function blit(
  dst: RgbImage,
  src: RgbImage,
  x: number,
  y: number,
  width: number = src.width,
  height: number = src.height,
): void {
  checkSize(width, height);
  if (width === 0 || height === 0 || src.width === 0 || src.height === 0) return;
  x = Math.floor(x);
  y = Math.floor(y);
  const xs = new Int32Array(width);
  for (let i = 0; i < width; i++) xs[i] = Math.min(src.width - 1, Math.floor(((i + 0.5) * src.width) / width));
  const dx0 = Math.max(0, -x);
  const dx1 = Math.min(width, dst.width - x);
  const dy0 = Math.max(0, -y);
  const dy1 = Math.min(height, dst.height - y);
  const s = src.data;
  const d = dst.data;
  for (let j = dy0; j < dy1; j++) {
    const sy = Math.min(src.height - 1, Math.floor(((j + 0.5) * src.height) / height));
    const srow = sy * src.width;
    let o = ((y + j) * dst.width + x + dx0) * 3;
    for (let i = dx0; i < dx1; i++, o += 3) {
      const so = (srow + xs[i]!) * 3;
      d[o] = s[so]!;
      d[o + 1] = s[so + 1]!;
      d[o + 2] = s[so + 2]!;
    }
  }
}

/** A copy of the rectangle `[x, x+w) × [y, y+h)` (must lie inside the image). */
export function crop(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  if (x < 0 || y < 0 || x + w > img.width || y + h > img.height) {
    throw new RangeError(`canvas: crop ${w}x${h}+${x}+${y} outside ${img.width}x${img.height}`);
  }
  const out = createImage(w, h, BLACK);
  for (let j = 0; j < h; j++) {
    const so = ((y + j) * img.width + x) * 3;
    out.data.set(img.data.subarray(so, so + w * 3), j * w * 3);
  }
  return out;
}

/** Binary PPM (P6) bytes, handy for debugging. */
export function encodePpm(img: RgbImage): Uint8Array {
  const header = new TextEncoder().encode(`P6\n${img.width} ${img.height}\n255\n`);
  const out = new Uint8Array(header.length + img.data.length);
  out.set(header, 0);
  out.set(img.data, header.length);
  return out;
}
