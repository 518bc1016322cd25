/**
 * `decodeImage`: one entry point for the image files a CAM user passes in. The format is sniffed from the magic
 * bytes, not from a file name; JPEG, PNG and BMP are decoded (pixel-identical to PIL's Image.open(f).convert('RGB')),
 * other common formats are named in the error so the user knows what to convert.
 */
import { decodeBmp } from './bmp';
import { decodeJpeg } from './jpeg';
import { decodePng } from './png';
import { ImageDecodeError, decodeFail, type RgbImage } from './types';

export interface DecodeImageOptions {
  /**
   * Refuse images with more pixels than this, before allocating (default 178,956,970, PIL's bomb limit). The limit is
   * the only bound on what a decode costs, and the cost grows linearly with the pixel count:
   *   - memory: 3 bytes per pixel of RGB output, plus while a JPEG decodes 2 bytes per coefficient and 1 per sample
   *     of every component: 7.5 bytes per pixel for 4:2:0 in all, 12 for 4:4:4 (a PNG: the output plus its
   *     inflated rows, about 6 bytes per pixel for 8-bit RGB);
   *   - time: measured for a 6000x6000 (36 MP) JPEG, Node 20 on one x86-64 core: progressive 4:2:0 2.4 s of CPU and
   *     a 325 MB peak RSS (270 MB above the idle process), baseline 1.7 s and the same memory (PIL: 0.6 s / 0.3 s).
   * At the default limit that is about 12 s and 1.3 GB for a progressive 4:2:0 JPEG (2.1 GB for 4:4:4); lower it for
   * services that decode untrusted uploads.
   */
  maxPixels?: number;
}

const JPEG_MAGIC = [0xff, 0xd8];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const BMP_MAGIC = [0x42, 0x4d];
const OTHER_FORMATS: [number[], string][] = [
  [[0x47, 0x49, 0x46, 0x38], 'GIF'],
  [[0x52, 0x49, 0x46, 0x46], 'RIFF (WebP?)'],
  [[0x49, 0x49, 0x2a, 0x00], 'TIFF'],
  [[0x4d, 0x4d, 0x00, 0x2a], 'TIFF'],
];

/** True when `bytes` begins with all of `magic`. */
const hasMagic = (bytes: Uint8Array, magic: number[]): boolean =>
  bytes.length >= magic.length && magic.every((v, i) => bytes[i] === v);
/** True when all of `bytes` (shorter than `magic`) is the beginning of `magic`: a file cut inside its signature. */
const isCutMagic = (bytes: Uint8Array, magic: number[]): boolean =>
  bytes.length < magic.length && Array.from(bytes).every((v, i) => v === magic[i]);

/** Decodes JPEG, PNG or BMP bytes into an 8-bit RGB image. Throws ImageDecodeError for anything else or bad data. */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): RgbImage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeImage: bytes must be a Uint8Array');
  if (bytes.length === 0) decodeFail('image', 'empty input (0 bytes)');
  try {
    if (hasMagic(bytes, JPEG_MAGIC)) return decodeJpeg(bytes, options);
    if (hasMagic(bytes, PNG_MAGIC)) return decodePng(bytes, options);
    if (hasMagic(bytes, BMP_MAGIC)) return decodeBmp(bytes, options);
  } catch (e) {
    // Decoders only throw ImageDecodeError on bad data; anything else escaping is a bug, but the caller still gets
    // an ImageDecodeError saying so (the fuzz test checks this never happens).
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(`image: internal decoder error (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  if (isCutMagic(bytes, JPEG_MAGIC) || isCutMagic(bytes, PNG_MAGIC)) {
    decodeFail('image', `file is truncated (only ${bytes.length} bytes)`);
  }
  for (const [magic, name] of OTHER_FORMATS) {
    if (hasMagic(bytes, magic)) decodeFail('image', `${name} files are not supported (only JPEG, PNG and BMP)`);
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return decodeFail('image', `unrecognised format (first bytes ${head}); expected JPEG (ff d8), PNG (89 50 4e 47 ...) or BMP (42 4d)`);
}
