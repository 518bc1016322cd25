/**
 * zlib decompression for PNG image data: the shared decoder in core/codec, with its failures turned into
 * ImageDecodeErrors and the image-specific wording the PNG decoder (and its tests) use.
 */
import { inflateZlib as inflateZlibStream, type InflateFailKind } from '../core/codec/inflate';
import { decodeFail } from './types';

/**
 * Decompresses a zlib stream into exactly `outSize` bytes and checks its Adler-32.
 * @param what names the data in error messages.
 */
export function inflateZlib(input: Uint8Array, outSize: number, what: string): Uint8Array {
  const fail = (message: string, kind: InflateFailKind): never =>
    decodeFail('PNG', `${what}: ${kind === 'overflow' ? 'more data than the image header allows' : message}`);
  const { data } = inflateZlibStream(input, outSize, fail);
  if (data.length !== outSize) decodeFail('PNG', `${what}: image data is truncated (${data.length} of ${outSize} bytes)`);
  return data;
}
