/**
 * BMP decoding to RGB exactly as PIL 9.4's `Image.open(f).convert('RGB')` (BmpImagePlugin + the raw unpackers).
 *
 * Supported as PIL reads them: OS/2 v1 (12-byte), BITMAPINFOHEADER (40), OS/2 v2 (64), V4 (108) and V5 (124)
 * headers; 1-, 4- and 8-bit palettes (indices past the palette read PIL's default grey ramp), 16-bit (BI_RGB is
 * 5-5-5; bitfields 5-6-5 or 5-5-5, scaled by v * 255 / max as PIL's BGR;15/BGR;16 unpackers do), 24-bit, 32-bit
 * (BI_RGB, or the bitfield layouts PIL accepts: BGRX, XBGR, ABGR, RGBA, BGRA; alpha is dropped); bottom-up and
 * top-down rows. PIL refuses other depths and bitfield layouts, and so do we; RLE4/RLE8 compression is refused with
 * a clear error (not implemented), as are JPEG/PNG-in-BMP.
 */
import { DEFAULT_MAX_PIXELS, decodeFail, type RgbImage } from './types';

export interface BmpDecodeOptions {
  /** Refuse images with more pixels than this (checked before allocating); default as PIL's bomb limit. */
  maxPixels?: number;
}

const u16 = (d: Uint8Array, p: number): number => d[p] | (d[p + 1] << 8);
const u32 = (d: Uint8Array, p: number): number => (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;

/** PIL's bitfield layouts for 32-bit pixels: masks (R, G, B, A) -> byte offsets of R, G, B within the pixel. */
const MASKS_32: [number[], number[]][] = [
  [[0xff0000, 0xff00, 0xff, 0], [2, 1, 0]], // BGRX
  [[0xff000000, 0xff0000, 0xff00, 0], [3, 2, 1]], // XBGR
  [[0xff000000, 0xff0000, 0xff00, 0xff], [3, 2, 1]], // ABGR
  [[0xff, 0xff00, 0xff0000, 0xff000000], [0, 1, 2]], // RGBA
  [[0xff0000, 0xff00, 0xff, 0xff000000], [2, 1, 0]], // BGRA
  [[0, 0, 0, 0], [2, 1, 0]], // BGRA
];

const fail = (message: string): never => decodeFail('BMP', message);

/** Decodes a BMP file into RGB. Throws ImageDecodeError for truncated, corrupt or unsupported files. */
export function decodeBmp(d: Uint8Array, options: BmpDecodeOptions = {}): RgbImage {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (d.length < 18 || d[0] !== 0x42 || d[1] !== 0x4d) fail('file is truncated or not a BMP file');
  let offset = u32(d, 10);
  const headerSize = u32(d, 14);
  if (![12, 40, 64, 108, 124].includes(headerSize)) fail(`unsupported BMP header type (${headerSize})`);
  if (14 + headerSize > d.length) fail('file is truncated (in the header)');
  const h = 18; // header fields start after its size
  let width: number;
  let height: number;
  let bits: number;
  let compression = 0;
  let colors = 0;
  let topDown = false;
  let masks: number[] = [];
  let paletteEntry = 4;
  let pos = 14 + headerSize;
  if (headerSize === 12) {
    width = u16(d, h);
    height = u16(d, h + 2);
    bits = u16(d, h + 6);
    paletteEntry = 3;
  } else {
    // PIL takes the height as top-down when its top byte is 0xFF (a small negative number).
    topDown = d[h + 7] === 0xff;
    width = u32(d, h);
    height = topDown ? 2 ** 32 - u32(d, h + 4) : u32(d, h + 4);
    bits = u16(d, h + 10);
    compression = u32(d, h + 12);
    colors = u32(d, h + 28);
    if (compression === 3) {
      if (headerSize >= 56) {
        masks = [0, 1, 2, 3].map((i) => u32(d, h + 36 + 4 * i));
      } else {
        // A 40-byte header keeps R, G, B masks right after it (PIL reads them from there, alpha 0).
        if (pos + 12 > d.length) fail('file is truncated (in the bitfield masks)');
        masks = [u32(d, pos), u32(d, pos + 4), u32(d, pos + 8), 0];
        pos += 12;
      }
    }
  }
  if (colors === 0) colors = 2 ** bits;
  // PIL's quirk: a pixel-data offset pointing right after the header means "after the palette" for palette images.
  if (offset === 14 + headerSize && bits <= 8) offset += 4 * colors;
  if (![1, 4, 8, 16, 24, 32].includes(bits)) fail(`unsupported BMP pixel depth (${bits})`);
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) fail(`bad image size ${width}x${height}`);
  if (width * height > maxPixels) fail(`image has ${width}x${height} pixels, more than the limit of ${maxPixels}`);

  // How each pixel becomes RGB.
  let layout: 'palette' | 'bgr15' | 'bgr16' | 'bytes' = bits <= 8 ? 'palette' : bits === 16 ? 'bgr15' : 'bytes';
  let order = [2, 1, 0]; // byte offsets of R, G, B in a 24/32-bit pixel
  if (compression === 3) {
    const [r, g, b, a] = masks;
    const same = (m: number[]): boolean => m[0] === r && m[1] === g && m[2] === b && (m.length < 4 || m[3] === a);
    if (bits === 32 && MASKS_32.some(([m]) => same(m))) order = MASKS_32.find(([m]) => same(m))![1];
    else if (bits === 24 && same([0xff0000, 0xff00, 0xff])) order = [2, 1, 0];
    else if (bits === 16 && same([0xf800, 0x7e0, 0x1f])) layout = 'bgr16';
    else if (bits === 16 && same([0x7c00, 0x3e0, 0x1f])) layout = 'bgr15';
    else fail('unsupported BMP bitfields layout');
  } else if (compression === 1 || compression === 2) {
    fail(`RLE${compression === 1 ? 8 : 4}-compressed BMP files are not supported (convert to PNG or JPEG)`);
  } else if (compression !== 0) {
    fail(`unsupported BMP compression (${compression})`);
  }

  const lut = new Uint8Array(256 * 3);
  if (layout === 'palette') {
    if (!(colors > 0 && colors <= 65536)) fail(`unsupported BMP palette size (${colors})`);
    if (pos + paletteEntry * colors > d.length) fail('file is truncated (in the palette)');
    // PIL's palette starts as a grey ramp; the file's entries (at most 256 count) overwrite its start.
    for (let i = 0; i < 256; i++) lut.fill(i, 3 * i, 3 * i + 3);
    for (let i = 0; i < Math.min(colors, 256); i++) {
      const p = pos + paletteEntry * i;
      lut[3 * i] = d[p + 2];
      lut[3 * i + 1] = d[p + 1];
      lut[3 * i + 2] = d[p];
    }
    // PIL drops an all-grey palette and unpacks the pixels as "L" (or "1" for 2 colours) whatever the depth: only
    // right for 8-bit (or 1-bit) pixels. Other depths it misreads, so we refuse them rather than guess.
    const grey = colors <= 256 && Array.from({ length: colors }, (_, i) => (colors === 2 ? [0, 255][i] : i))
      .every((v, i) => lut[3 * i] === v && lut[3 * i + 1] === v && lut[3 * i + 2] === v);
    if (grey && bits !== (colors === 2 ? 1 : 8)) {
      fail(`a ${bits}-bit BMP with a ${colors}-entry grey palette (PIL misreads these)`);
    }
  }

  const stride = (((width * bits + 31) >>> 3) & ~3) >>> 0;
  if (offset + stride * height > d.length) fail('file is truncated (in the pixel data)');
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const src = offset + stride * (topDown ? y : height - 1 - y);
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (layout === 'palette') {
        const i = bits === 8 ? d[src + x] : bits === 4 ? (d[src + (x >> 1)] >> (x & 1 ? 0 : 4)) & 15
          : (d[src + (x >> 3)] >> (7 - (x & 7))) & 1;
        out[o] = lut[3 * i];
        out[o + 1] = lut[3 * i + 1];
        out[o + 2] = lut[3 * i + 2];
      } else if (layout === 'bytes') {
        const p = src + x * (bits >> 3);
        out[o] = d[p + order[0]];
        out[o + 1] = d[p + order[1]];
        out[o + 2] = d[p + order[2]];
      } else {
        const v = u16(d, src + 2 * x);
        // Unpack.c ImagingUnpackBGR15 / ImagingUnpackBGR16: integer v * 255 / max.
        if (layout === 'bgr15') {
          out[o] = Math.floor((((v >> 10) & 31) * 255) / 31);
          out[o + 1] = Math.floor((((v >> 5) & 31) * 255) / 31);
        } else {
          out[o] = Math.floor((((v >> 11) & 31) * 255) / 31);
          out[o + 1] = Math.floor((((v >> 5) & 63) * 255) / 63);
        }
        out[o + 2] = Math.floor(((v & 31) * 255) / 31);
      }
    }
  }
  return { width, height, data: out };
}
