/**
 * The two checksums the container formats we read rely on: CRC-32 (ISO 3309 / IEEE; PNG chunks and zip entries) and
 * Adler-32 (zlib's trailer over the uncompressed bytes). One shared copy so PNG and zip cannot drift apart; nothing
 * here throws, so it needs no caller-specific error class.
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `data[start, end)`, continuing from `crc` (pass the previous result to checksum in pieces). */
export function crc32(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Adler-32 of `data`: two running sums modulo 65521, reduced every 5552 bytes (the most that cannot overflow). */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}
