/**
 * A small zlib compressor (RFC 1950/1951), used by encodePng (image/png.ts): LZ77 matching with hash chains, coded with DEFLATE's fixed
 * Huffman codes in a single block. Not as tight as zlib's dynamic codes, but short, synchronous and browser-safe;
 * CAM overlays compress to roughly a third of their raw size with it.
 */
import { adler32 } from './checksum';
import { DIST_BASE, DIST_EXTRA, LEN_BASE, LEN_EXTRA } from './deflate-tables';

const WINDOW = 32768;
const HASH_BITS = 15;
const MAX_CHAIN = 64;
const MIN_MATCH = 3;
const MAX_MATCH = 258;


function reverseBits(code: number, len: number): number {
  let r = 0;
  for (let i = 0; i < len; i++) r |= ((code >> i) & 1) << (len - 1 - i);
  return r;
}

/** Fixed literal/length codes (RFC 1951, 3.2.6), pre-reversed for LSB-first output: [code, length] per symbol. */
const FIXED_LIT = (() => {
  const codes = new Uint16Array(288);
  const lens = new Uint8Array(288);
  for (let s = 0; s < 288; s++) {
    let code: number;
    let len: number;
    if (s < 144) [code, len] = [0x30 + s, 8];
    else if (s < 256) [code, len] = [0x190 + s - 144, 9];
    else if (s < 280) [code, len] = [s - 256, 7];
    else [code, len] = [0xc0 + s - 280, 8];
    codes[s] = reverseBits(code, len);
    lens[s] = len;
  }
  return { codes, lens };
})();

/** Symbol index (0..28) for each match length 3..258 (258 has its own code, 285), and (0..29) per distance. */
const LEN_SYM = new Uint8Array(MAX_MATCH + 1);
for (let i = 0; i < 29; i++) {
  for (let l = LEN_BASE[i]; l < (i < 28 ? LEN_BASE[i + 1] : 259); l++) LEN_SYM[l] = i;
}
const DIST_SYM = new Uint8Array(WINDOW + 1);
for (let i = 0; i < 30; i++) {
  for (let d = DIST_BASE[i]; d < (i < 29 ? DIST_BASE[i + 1] : WINDOW + 1); d++) DIST_SYM[d] = i;
}

/** LSB-first bit writer into a growing byte buffer. */
class BitWriter {
  buf: Uint8Array;
  len = 0;
  private acc = 0;
  private n = 0;

  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(64, capacity));
  }

  write(value: number, bits: number): void {
    this.acc |= value << this.n;
    this.n += bits;
    while (this.n >= 8) {
      if (this.len === this.buf.length) {
        const grown = new Uint8Array(this.buf.length * 2);
        grown.set(this.buf);
        this.buf = grown;
      }
      this.buf[this.len++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.n -= 8;
    }
  }

  /** Pads the last partial byte with zero bits. */
  finish(): Uint8Array {
    if (this.n > 0) this.write(0, 8 - this.n);
    return this.buf.subarray(0, this.len);
  }
}

/** Compresses `data` into a zlib stream (header 78 01, one fixed-Huffman block, Adler-32 trailer). */
export function zlibCompress(data: Uint8Array): Uint8Array {
  const w = new BitWriter((data.length >> 1) + 64);
  w.write(0x78, 8); // CMF: deflate, 32 KiB window
  w.write(0x01, 8); // FLG: no dictionary, check bits so that CMF*256+FLG is a multiple of 31
  w.write(1, 1); // BFINAL
  w.write(1, 2); // BTYPE = fixed Huffman

  const lit = (s: number): void => w.write(FIXED_LIT.codes[s], FIXED_LIT.lens[s]);
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(WINDOW);
  const n = data.length;
  const hash = (i: number): number =>
    (((data[i] << 10) ^ (data[i + 1] << 5) ^ data[i + 2]) * 2654435761) >>> (32 - HASH_BITS);
  const insert = (i: number): void => {
    const h = hash(i);
    prev[i & (WINDOW - 1)] = head[h];
    head[h] = i;
  };

  let i = 0;
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    if (i + MIN_MATCH <= n) {
      const maxLen = Math.min(MAX_MATCH, n - i);
      let cand = head[hash(i)];
      // Walk the chain of earlier positions with the same hash, newest first, keeping the longest match.
      for (let chain = 0; cand >= 0 && i - cand <= WINDOW && chain < MAX_CHAIN; chain++) {
        if (data[cand + bestLen] === data[i + bestLen]) {
          let l = 0;
          while (l < maxLen && data[cand + l] === data[i + l]) l++;
          if (l > bestLen) {
            bestLen = l;
            bestDist = i - cand;
            if (l === maxLen) break;
          }
        }
        const next = prev[cand & (WINDOW - 1)];
        if (next >= cand) break; // slot reused by a newer position: the chain is over
        cand = next;
      }
      insert(i);
    }
    if (bestLen >= MIN_MATCH) {
      const ls = LEN_SYM[bestLen];
      lit(257 + ls);
      w.write(bestLen - LEN_BASE[ls], LEN_EXTRA[ls]);
      const ds = DIST_SYM[bestDist];
      w.write(reverseBits(ds, 5), 5);
      w.write(bestDist - DIST_BASE[ds], DIST_EXTRA[ds]);
      for (let k = 1; k < bestLen; k++) if (i + k + MIN_MATCH <= n) insert(i + k);
      i += bestLen;
    } else {
      lit(data[i]);
      i++;
    }
  }
  lit(256); // end of block
  const body = w.finish();
  const a = adler32(data);
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  out[body.length] = a >>> 24;
  out[body.length + 1] = (a >>> 16) & 0xff;
  out[body.length + 2] = (a >>> 8) & 0xff;
  out[body.length + 3] = a & 0xff;
  return out;
}
