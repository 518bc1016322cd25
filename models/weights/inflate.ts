/**
 * Raw-DEFLATE decompression for compressed zip entries: the shared decoder in core/codec, with its failures turned
 * into WeightsFormatErrors worded in zip terms. PyTorch writes its archives uncompressed, so this is only for
 * checkpoints that were re-zipped with compression. crc32 is re-exported because it is part of this package's API.
 */
import { inflateRaw as inflateRawStream, type InflateFailKind } from '../../core/codec/inflate';
import { fail } from './errors';

export { crc32 } from '../../core/codec/checksum';

/** Inflates raw DEFLATE `input` into exactly `outputSize` bytes (as the zip records it); `what` names the entry. */
export function inflateRaw(input: Uint8Array, outputSize: number, what: string): Uint8Array {
  const onFail = (message: string, kind: InflateFailKind): never =>
    fail(`${what}: ${kind === 'overflow' ? `inflates to more than the ${outputSize} bytes recorded in the zip` : message}`);
  const { data } = inflateRawStream(input, outputSize, onFail);
  if (data.length !== outputSize) {
    fail(`${what}: inflated to ${data.length} bytes, expected ${outputSize} as recorded in the zip`);
  }
  return data;
}
