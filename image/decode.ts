/**
 * `decodeImage`: one entry point for the image files a CAM user passes in. The format is sniffed from the magic
 * bytes, not from a file name; JPEG and PNG are decoded (pixel-identical to PIL's Image.open(f).convert('RGB')),
 * other common formats are named in the error so the user knows what to convert.
 */
import { decodeJpeg } from './jpeg';
import { decodePng } from './png';
import { ImageDecodeError, decodeFail, type RgbImage } from './types';

export interface DecodeImageOptions {
  /** Refuse images with more pixels than this, before allocating (default 178,956,970, PIL's bomb limit). */
  maxPixels?: number;
}

const JPEG_MAGIC = [0xff, 0xd8];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const OTHER_FORMATS: [number[], string][] = [
  [[0x47, 0x49, 0x46, 0x38], 'GIF'],
  [[0x42, 0x4d], 'BMP'],
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

/** Decodes JPEG or PNG bytes into an 8-bit RGB image. Throws ImageDecodeError for anything else or bad data. */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): RgbImage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeImage: bytes must be a Uint8Array');
  if (bytes.length === 0) decodeFail('image', 'empty input (0 bytes)');
  try {
    if (hasMagic(bytes, JPEG_MAGIC)) return decodeJpeg(bytes, options);
    if (hasMagic(bytes, PNG_MAGIC)) return decodePng(bytes, options);
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
    if (hasMagic(bytes, magic)) decodeFail('image', `${name} files are not supported (only JPEG and PNG)`);
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return decodeFail('image', `unrecognised format (first bytes ${head}); expected JPEG (ff d8) or PNG (89 50 4e 47 ...)`);
}
