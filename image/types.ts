/**
 * The one image type the CAM layer's image utilities exchange, and the error they throw for bad input data.
 */

/** An 8-bit RGB image: `data[(y * width + x) * 3 + c]`, rows top to bottom, channels R, G, B. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Thrown for image bytes that are truncated, corrupt or in a variant we do not decode. Decoders never let a
 * RangeError/TypeError escape from malformed input (a fuzz test checks this): anything else is a bug.
 */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
}

/** Throws an `ImageDecodeError` whose message starts with the format, e.g. "JPEG: ...". */
export function decodeFail(format: 'JPEG' | 'PNG' | 'BMP' | 'image', message: string): never {
  throw new ImageDecodeError(`${format}: ${message}`);
}

/**
 * PIL refuses images above 2 * Image.MAX_IMAGE_PIXELS pixels (DecompressionBombError); we use the same default limit,
 * checked from the header before any pixel buffer is allocated.
 */
export const DEFAULT_MAX_PIXELS = 178_956_970;

/** Checks that `img` is a well-formed RgbImage; `name` is the argument name used in the error message. */
export function assertRgbImage(img: RgbImage, name: string): void {
  if (img === null || typeof img !== 'object') throw new TypeError(`${name} must be an RgbImage object`);
  const { width, height, data } = img;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new RangeError(`${name}.width and ${name}.height must be positive integers (got ${width}x${height})`);
  }
  if (!(data instanceof Uint8Array)) throw new TypeError(`${name}.data must be a Uint8Array`);
  if (data.length !== width * height * 3) {
    throw new RangeError(`${name}.data has ${data.length} bytes, expected width*height*3 = ${width * height * 3}`);
  }
}
