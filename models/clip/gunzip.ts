// gzip (RFC 1952) for the CLIP BPE vocabulary, which OpenAI ships as bpe_simple_vocab_16e6.txt.gz: the header is
// parsed here and the DEFLATE body goes through the shared decoder in core/codec, so Node and browsers behave alike.
import { inflateRaw } from '../../core/codec/inflate';
import { crc32 } from '../../core/codec/checksum';

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses one gzip member; `what` names the data in errors. */
export function gunzip(bytes: Uint8Array, what: string): Uint8Array {
  const fail = (msg: string): never => {
    throw new Error(`${what}: not a valid gzip file (${msg})`);
  };
  if (bytes.length < 18 || !isGzip(bytes)) fail('too short or no gzip signature');
  if (bytes[2] !== 8) fail(`compression method ${bytes[2]}, expected 8 (deflate)`);
  const flg = bytes[3];
  let p = 10;
  if (flg & 4) p += 2 + (bytes[p] | (bytes[p + 1] << 8));
  for (const bit of [8, 16]) {
    if (flg & bit) {
      while (p < bytes.length && bytes[p] !== 0) p++;
      p++;
    }
  }
  if (flg & 2) p += 2;
  if (p > bytes.length - 8) fail('truncated header');
  const n = bytes.length;
  // ISIZE is the size modulo 2^32; vocabulary files are far below that.
  const size = (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
  const { data, end } = inflateRaw(bytes, size, (m) => fail(m), p);
  if (data.length !== size) fail(`inflated to ${data.length} bytes, the trailer records ${size}`);
  if (end + 8 !== n) fail('unexpected bytes after the compressed data');
  const crc = (bytes[n - 8] | (bytes[n - 7] << 8) | (bytes[n - 6] << 16) | (bytes[n - 5] << 24)) >>> 0;
  if (crc32(data) >>> 0 !== crc) fail('CRC-32 mismatch');
  return data;
}
