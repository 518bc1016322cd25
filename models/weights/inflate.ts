/**
 * A small, bounded raw-DEFLATE (RFC 1951) decoder and CRC-32, for compressed zip entries. PyTorch writes its
 * archives uncompressed, so this is only for checkpoints that were re-zipped with compression. The output size must
 * be known up front (zip records it): the decoder never writes past it, so corrupt input cannot allocate more.
 */
import { fail } from './errors';

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
  4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Huffman { count: Uint16Array; symbol: Uint16Array }

/** Canonical Huffman code from code lengths; returns how many codes are left (0: complete, >0: incomplete). */
function build(lengths: ArrayLike<number>, n: number, what: string): { h: Huffman; left: number } {
  const count = new Uint16Array(16);
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) count[lengths[s]]++;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - count[len];
    if (left < 0) fail(`${what}: over-subscribed Huffman code`);
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]]++] = s;
  return { h: { count, symbol }, left: count[0] === n ? 0 : left };
}

/** Inflates raw DEFLATE `input` into exactly `outputSize` bytes; `what` names the entry in errors. */
export function inflateRaw(input: Uint8Array, outputSize: number, what: string): Uint8Array {
  const out = new Uint8Array(outputSize);
  let outPos = 0;
  let inPos = 0;
  let bitBuf = 0;
  let bitCnt = 0;

  const bits = (need: number): number => {
    let val = bitBuf;
    while (bitCnt < need) {
      if (inPos >= input.length) fail(`${what}: deflate stream is truncated (expected more compressed bytes)`);
      val |= input[inPos++] << bitCnt;
      bitCnt += 8;
    }
    bitBuf = val >>> need;
    bitCnt -= need;
    return val & ((1 << need) - 1);
  };

  const decode = (h: Huffman): number => {
    let code = 0, first = 0, index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    fail(`${what}: invalid Huffman code in deflate stream`);
  };

  const codes = (lencode: Huffman, distcode: Huffman): void => {
    for (;;) {
      let sym = decode(lencode);
      if (sym < 256) {
        if (outPos >= outputSize) fail(`${what}: inflates to more than the ${outputSize} bytes recorded in the zip`);
        out[outPos++] = sym;
      } else if (sym === 256) {
        return;
      } else {
        sym -= 257;
        if (sym >= 29) fail(`${what}: invalid length code in deflate stream`);
        const len = LEN_BASE[sym] + bits(LEN_EXTRA[sym]);
        const dsym = decode(distcode);
        if (dsym >= 30) fail(`${what}: invalid distance code in deflate stream`);
        const dist = DIST_BASE[dsym] + bits(DIST_EXTRA[dsym]);
        if (dist > outPos) fail(`${what}: deflate distance ${dist} reaches before the start of the output`);
        if (outPos + len > outputSize) fail(`${what}: inflates to more than the ${outputSize} bytes recorded in the zip`);
        for (let i = 0; i < len; i++, outPos++) out[outPos] = out[outPos - dist];
      }
    }
  };

  let fixed: { len: Huffman; dist: Huffman } | undefined;
  let last = 0;
  while (!last) {
    last = bits(1);
    const type = bits(2);
    if (type === 0) {
      bitBuf = 0;
      bitCnt = 0;
      if (inPos + 4 > input.length) fail(`${what}: deflate stream is truncated (stored block header)`);
      const len = input[inPos] | (input[inPos + 1] << 8);
      const nlen = input[inPos + 2] | (input[inPos + 3] << 8);
      inPos += 4;
      if (len !== (~nlen & 0xffff)) fail(`${what}: corrupt stored block in deflate stream (LEN/NLEN mismatch)`);
      if (inPos + len > input.length) fail(`${what}: deflate stream is truncated (stored block data)`);
      if (outPos + len > outputSize) fail(`${what}: inflates to more than the ${outputSize} bytes recorded in the zip`);
      out.set(input.subarray(inPos, inPos + len), outPos);
      inPos += len;
      outPos += len;
    } else if (type === 1) {
      if (!fixed) {
        const l = new Uint8Array(288);
        l.fill(8, 0, 144); l.fill(9, 144, 256); l.fill(7, 256, 280); l.fill(8, 280, 288);
        const d = new Uint8Array(30).fill(5);
        fixed = { len: build(l, 288, what).h, dist: build(d, 30, what).h };
      }
      codes(fixed.len, fixed.dist);
    } else if (type === 2) {
      const nlen = bits(5) + 257;
      const ndist = bits(5) + 1;
      const ncode = bits(4) + 4;
      if (nlen > 286 || ndist > 30) fail(`${what}: bad dynamic block counts in deflate stream`);
      const lengths = new Uint8Array(320);
      for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i]] = bits(3);
      const cl = build(lengths, 19, what);
      if (cl.left !== 0) fail(`${what}: incomplete code-length code in deflate stream`);
      let i = 0;
      while (i < nlen + ndist) {
        let sym = decode(cl.h);
        if (sym < 16) {
          lengths[i++] = sym;
        } else {
          let len = 0;
          if (sym === 16) {
            if (i === 0) fail(`${what}: repeat with no previous length in deflate stream`);
            len = lengths[i - 1];
            sym = 3 + bits(2);
          } else if (sym === 17) sym = 3 + bits(3);
          else sym = 11 + bits(7);
          if (i + sym > nlen + ndist) fail(`${what}: too many code lengths in deflate stream`);
          while (sym--) lengths[i++] = len;
        }
      }
      if (lengths[256] === 0) fail(`${what}: deflate block has no end-of-block code`);
      const lc = build(lengths.subarray(0, nlen), nlen, what);
      if (lc.left > 0 && nlen - lc.h.count[0] !== 1) fail(`${what}: incomplete literal/length code in deflate stream`);
      const dc = build(lengths.subarray(nlen, nlen + ndist), ndist, what);
      if (dc.left > 0 && ndist - dc.h.count[0] !== 1) fail(`${what}: incomplete distance code in deflate stream`);
      codes(lc.h, dc.h);
    } else {
      fail(`${what}: invalid deflate block type 3`);
    }
  }
  if (outPos !== outputSize) fail(`${what}: inflated to ${outPos} bytes, expected ${outputSize} as recorded in the zip`);
  return out;
}

let crcTable: Int32Array | undefined;

/** CRC-32 (IEEE, as zip uses) of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const t = crcTable;
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
