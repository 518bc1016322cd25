/**
 * DEFLATE (RFC 1951) and zlib (RFC 1950) decompression shared by the PNG decoder (image/) and the zip reader for
 * .pth checkpoints (models/weights): synchronous and dependency-free, so it behaves the same in Node and in browsers.
 * One table-driven decoder instead of one per format, so a bug fix or speed-up reaches both.
 *
 * The caller declares the output size up front (the PNG header / the zip directory records it), the buffer is
 * allocated once at that size and the decoder refuses to write past it: a corrupt or hostile stream cannot make it
 * allocate more. Failures go through a caller-supplied `fail` callback rather than a thrown error of our own, so each
 * format keeps its own error class (ImageDecodeError, WeightsFormatError) and its own wording; `kind` lets it word the
 * "too much output" case in its own terms (what declared the size differs between formats).
 */
import { adler32 } from './checksum';
import { DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA } from './deflate-tables';

/** 'overflow': the stream holds more than the declared output size; 'corrupt': anything else (including truncation). */
export type InflateFailKind = 'corrupt' | 'overflow';

/** Reports a decoding failure and must throw; `message` does not name the data (the caller prefixes that). */
export type InflateFail = (message: string, kind: InflateFailKind) => never;

/** Result of a decode. */
export interface Inflated {
  /**
   * The decompressed bytes: a view of the buffer allocated at the declared size, shorter than it when the stream
   * ended early. Callers that need an exact size check `data.length` and word that error themselves.
   */
  data: Uint8Array;
  /**
   * Offset in `input` just past the stream: past the final block for raw DEFLATE (rounded up to a whole byte),
   * past the Adler-32 trailer for zlib. Lets callers find what follows (the zlib trailer) or reject trailing bytes.
   */
  end: number;
}

/** Order in which the code-length code lengths are transmitted. */
const CLEN_ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

/**
 * A Huffman decoding table indexed by the next `bits` input bits (LSB first). Entry = symbol << 4 | code length;
 * 0 marks bit patterns that no code starts with.
 */
interface Table {
  entries: Uint16Array;
  bits: number;
}

/**
 * Builds the canonical code from code lengths (RFC 1951, 3.2.2). Like zlib, it rejects over-subscribed sets and
 * incomplete ones, except a lone code of length 1 in a literal/length or distance code (a block with a single
 * distance) and an empty code (a block with no matches may send only zero distance lengths; the all-zero table then
 * rejects any attempt to decode from it). The code-length code (`strict`) must always be complete, as in zlib.
 */
function buildTable(lengths: Uint8Array, what: string, fail: InflateFail, strict = false): Table {
  const count = new Uint16Array(16);
  let maxLen = 0;
  for (let i = 0; i < lengths.length; i++) {
    count[lengths[i]]++;
    if (lengths[i] > maxLen) maxLen = lengths[i];
  }
  count[0] = 0;
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = (left << 1) - count[len];
    if (left < 0) fail(`corrupt deflate data: over-subscribed ${what} code`, 'corrupt');
  }
  const used = lengths.length - lengths.filter((l) => l === 0).length;
  const allowed = !strict && (used === 0 || (used === 1 && maxLen === 1));
  if (left > 0 && !allowed) {
    fail(`corrupt deflate data: incomplete ${what} code`, 'corrupt');
  }
  const bits = Math.max(maxLen, 1);
  const entries = new Uint16Array(1 << bits);
  // First code of each length.
  const next = new Uint16Array(16);
  for (let len = 1, code = 0; len <= 15; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym];
    if (len === 0) continue;
    const code = next[len]++;
    // Codes are sent most-significant bit first inside the LSB-first stream, so index by the reversed code.
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((code >> i) & 1) << (len - 1 - i);
    for (let j = rev; j < 1 << bits; j += 1 << len) entries[j] = (sym << 4) | len;
  }
  return { entries, bits };
}

let fixedTables: { lit: Table; dist: Table } | null = null;

/** The fixed Huffman codes of block type 1 (RFC 1951, 3.2.6); they are valid, so `fail` is never called. */
function getFixedTables(fail: InflateFail): { lit: Table; dist: Table } {
  if (!fixedTables) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144);
    lit.fill(9, 144, 256);
    lit.fill(7, 256, 280);
    lit.fill(8, 280, 288);
    // The 30 real distance codes plus the two unused ones make the 5-bit code complete.
    fixedTables = {
      lit: buildTable(lit, 'literal/length', fail),
      dist: buildTable(new Uint8Array(32).fill(5), 'distance', fail),
    };
  }
  return fixedTables;
}

/**
 * Decompresses the raw DEFLATE stream starting at `input[start]` into at most `outSize` bytes.
 * Decoding stops at the final block; see Inflated for what is returned.
 */
export function inflateRaw(input: Uint8Array, outSize: number, fail: InflateFail, start = 0): Inflated {
  const out = new Uint8Array(outSize);
  let outPos = 0;
  let pos = start;
  let bitBuf = 0;
  let bitCnt = 0;
  let padBits = 0; // zero bits supplied past the end of the input

  const need = (n: number): void => {
    while (bitCnt < n) {
      if (pos < input.length) bitBuf = (bitBuf | (input[pos++] << bitCnt)) >>> 0;
      else padBits += 8;
      bitCnt += 8;
    }
  };
  const drop = (n: number): void => {
    bitBuf >>>= n;
    bitCnt -= n;
    if (bitCnt < padBits) fail('compressed data is truncated', 'corrupt');
  };
  const bits = (n: number): number => {
    if (n === 0) return 0;
    need(n);
    const v = bitBuf & ((1 << n) - 1);
    drop(n);
    return v;
  };
  const decode = (t: Table): number => {
    need(t.bits);
    const e = t.entries[bitBuf & ((1 << t.bits) - 1)];
    if (e === 0) fail('corrupt deflate data (invalid Huffman code)', 'corrupt');
    drop(e & 15);
    return e >> 4;
  };

  let final = 0;
  while (!final) {
    final = bits(1);
    const type = bits(2);
    if (type === 0) {
      // Stored block: skip to a byte boundary, then LEN, ~LEN and LEN raw bytes.
      drop(bitCnt & 7);
      if (padBits > 0) fail('compressed data is truncated', 'corrupt');
      pos -= bitCnt >> 3; // give back whole bytes already buffered
      bitBuf = 0;
      bitCnt = 0;
      if (pos + 4 > input.length) fail('compressed data is truncated', 'corrupt');
      const n = input[pos] | (input[pos + 1] << 8);
      const nn = input[pos + 2] | (input[pos + 3] << 8);
      if ((n ^ 0xffff) !== nn) fail('corrupt stored block length', 'corrupt');
      pos += 4;
      if (pos + n > input.length) fail('compressed data is truncated', 'corrupt');
      if (outPos + n > outSize) fail(`more output than the declared ${outSize} bytes`, 'overflow');
      out.set(input.subarray(pos, pos + n), outPos);
      outPos += n;
      pos += n;
      continue;
    }
    let lit: Table;
    let dist: Table;
    if (type === 1) {
      ({ lit, dist } = getFixedTables(fail));
    } else if (type === 2) {
      // Dynamic block: code lengths for the literal/length and distance codes, themselves Huffman coded.
      const hlit = bits(5) + 257;
      const hdist = bits(5) + 1;
      const hclen = bits(4) + 4;
      if (hlit > 286 || hdist > 30) fail('corrupt dynamic block header', 'corrupt');
      const clen = new Uint8Array(19);
      for (let i = 0; i < hclen; i++) clen[CLEN_ORDER[i]] = bits(3);
      const clTable = buildTable(clen, 'code-length', fail, true);
      const lengths = new Uint8Array(hlit + hdist);
      for (let i = 0; i < hlit + hdist; ) {
        const sym = decode(clTable);
        if (sym < 16) {
          lengths[i++] = sym;
          continue;
        }
        let repeat: number;
        let value = 0;
        if (sym === 16) {
          if (i === 0) fail('corrupt code lengths (repeat with no previous length)', 'corrupt');
          value = lengths[i - 1];
          repeat = 3 + bits(2);
        } else if (sym === 17) {
          repeat = 3 + bits(3);
        } else {
          repeat = 11 + bits(7);
        }
        if (i + repeat > hlit + hdist) fail('corrupt code lengths (too many)', 'corrupt');
        lengths.fill(value, i, i + repeat);
        i += repeat;
      }
      if (lengths[256] === 0) fail('corrupt dynamic block (no end-of-block code)', 'corrupt');
      lit = buildTable(lengths.subarray(0, hlit), 'literal/length', fail);
      dist = buildTable(lengths.subarray(hlit), 'distance', fail);
    } else {
      return fail('corrupt deflate data (block type 3)', 'corrupt');
    }

    // Literals are copied; length/distance pairs repeat earlier output (possibly overlapping, hence byte by byte).
    for (;;) {
      const sym = decode(lit);
      if (sym < 256) {
        if (outPos >= outSize) fail(`more output than the declared ${outSize} bytes`, 'overflow');
        out[outPos++] = sym;
        continue;
      }
      if (sym === 256) break;
      const li = sym - 257;
      if (li >= 29) fail(`corrupt deflate data (invalid length code ${sym})`, 'corrupt');
      const length = LEN_BASE[li] + bits(LEN_EXTRA[li]);
      const ds = decode(dist);
      if (ds >= 30) fail(`corrupt deflate data (invalid distance code ${ds})`, 'corrupt');
      const distance = DIST_BASE[ds] + bits(DIST_EXTRA[ds]);
      if (distance > outPos) fail('corrupt deflate data (distance too far back)', 'corrupt');
      if (outPos + length > outSize) fail(`more output than the declared ${outSize} bytes`, 'overflow');
      for (let k = 0; k < length; k++, outPos++) out[outPos] = out[outPos - distance];
    }
  }
  // Whole bytes still buffered were read ahead but are not part of the stream; the partly used byte is.
  return { data: out.subarray(0, outPos), end: pos - ((bitCnt - padBits) >> 3) };
}

/**
 * Decompresses a zlib stream (2-byte header, raw DEFLATE, big-endian Adler-32) into at most `outSize` bytes and
 * checks the Adler-32 of what it produced.
 */
export function inflateZlib(input: Uint8Array, outSize: number, fail: InflateFail): Inflated {
  if (input.length < 2) fail('zlib stream is truncated', 'corrupt');
  const cmf = input[0];
  const flg = input[1];
  if ((cmf & 15) !== 8 || cmf >> 4 > 7) fail('not a deflate zlib stream', 'corrupt');
  if (((cmf << 8) | flg) % 31 !== 0) fail('corrupt zlib header', 'corrupt');
  if (flg & 0x20) fail('zlib preset dictionary is not allowed', 'corrupt');
  const { data, end: pos } = inflateRaw(input, outSize, fail, 2);
  // The trailer follows the last block, byte aligned.
  if (pos + 4 > input.length) fail('zlib stream is truncated (no Adler-32)', 'corrupt');
  const expected = ((input[pos] << 24) | (input[pos + 1] << 16) | (input[pos + 2] << 8) | input[pos + 3]) >>> 0;
  if (adler32(data) !== expected) fail('Adler-32 checksum mismatch (corrupt data)', 'corrupt');
  return { data, end: pos + 4 };
}
