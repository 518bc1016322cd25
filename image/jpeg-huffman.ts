/**
 * JPEG entropy-coded data: the bit reader (byte stuffing, markers, restart intervals) and canonical Huffman tables,
 * following libjpeg's jdhuff.c. Used by jpeg.ts for both sequential and progressive scans.
 *
 * Damaged data is recovered exactly as libjpeg-turbo recovers it (PIL returns those images, so must we): a segment
 * that ends early is padded with zero bits and the rest of it is left grey (`insufficient`), a bad Huffman code
 * consumes 17 bits and decodes as symbol 0, junk before a restart marker is skipped and a wrong restart marker goes
 * through jpeg_resync_to_restart. Data that simply stops (no marker) is a truncated file: PIL refuses those.
 */
import { decodeFail } from './types';

/** A decoding table built from a DHT segment (or one of the standard tables below). */
export interface HuffmanTable {
  /**
   * Fast path: indexed by the next LOOKAHEAD bits; entry = (code length << 8) | symbol for codes of at most
   * LOOKAHEAD bits, 0 when the code is longer (then the slow path walks `maxCode`).
   */
  lookup: Uint16Array;
  /** maxCode[len]: the largest code of that length, or -1 if there is none (index 1..16). */
  maxCode: Int32Array;
  /** valOffset[len]: index into `symbols` of the first code of that length, minus that code. */
  valOffset: Int32Array;
  symbols: Uint8Array;
}

const LOOKAHEAD = 9;

/**
 * Builds the canonical Huffman code (JPEG spec Annex C): codes of each length are consecutive integers, and moving to
 * the next length appends a 0 bit. `counts[i]` is the number of codes of length i+1.
 */
export function buildHuffmanTable(counts: ArrayLike<number>, symbols: Uint8Array, isDc: boolean): HuffmanTable {
  const maxCode = new Int32Array(18).fill(-1);
  const valOffset = new Int32Array(18);
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    valOffset[len] = k - code;
    for (let i = 0; i < n; i++, k++, code++) {
      if (len <= LOOKAHEAD) {
        // Every LOOKAHEAD-bit window that starts with this code decodes to it.
        const shift = LOOKAHEAD - len;
        const base = code << shift;
        for (let j = 0; j < 1 << shift; j++) lookup[base + j] = (len << 8) | symbols[k];
      }
    }
    if (n > 0) maxCode[len] = code - 1;
    // libjpeg (jpeg_make_d_derived_tbl): the next free code must still fit in `len` bits, since no code may be all
    // ones; otherwise the counts over-subscribe the code space.
    if (code >= 2 ** len) decodeFail('JPEG', 'bad Huffman table (code lengths over-subscribed)');
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff; // sentinel: the slow path stops at 16 bits
  if (isDc) {
    for (let i = 0; i < k; i++) {
      if (symbols[i] > 15) decodeFail('JPEG', `bad DC Huffman table (symbol ${symbols[i]} > 15)`);
    }
  }
  return { lookup, maxCode, valOffset, symbols };
}

/** Parses the Annex K tables from their compact form: 16 code-length counts followed by the symbols, in hex. */
function standardTable(hex: string, isDc: boolean): HuffmanTable {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const counts = bytes.subarray(0, 16);
  const total = counts.reduce((a, b) => a + b, 0);
  // A symbol list that disagrees with its counts decodes silently wrong colours: refuse it outright.
  if (bytes.length - 16 !== total) throw new Error(`standard Huffman table has ${bytes.length - 16} symbols, counts say ${total}`);
  return buildHuffmanTable(counts, bytes.slice(16), isDc);
}

/**
 * The standard tables of JPEG Annex K.3. libjpeg-turbo installs them in slots 0 and 1 when a file has no DHT segment
 * (Motion-JPEG frames omit them), so we do the same.
 */
export function standardHuffmanTables(): { dc: HuffmanTable[]; ac: HuffmanTable[] } {
  return {
    dc: STANDARD_TABLES.dc.map((hex) => standardTable(hex, true)),
    ac: STANDARD_TABLES.ac.map((hex) => standardTable(hex, false)),
  };
}

/** Annex K.3 tables 0 (luminance) and 1 (chrominance): 16 counts then the symbols, as a DHT segment stores them. */
export const STANDARD_TABLES = {
  dc: [
    '00010501010101010100000000000000' + '000102030405060708090a0b',
    '00030101010101010101010000000000' + '000102030405060708090a0b',
  ],
  ac: [
    '0002010303020403050504040000017d' +
      '01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a' +
      '3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a9293949596' +
      '9798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2' +
      'f3f4f5f6f7f8f9fa',
    '00020102040403040705040400010277' +
      '000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728' +
      '292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a9293' +
      '9495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9ea' +
      'f2f3f4f5f6f7f8f9fa',
  ],
};

/** Marker value the reader reports when the data simply ends (libjpeg would suspend there: PIL calls it truncated). */
export const END_OF_DATA = 0x100;

/**
 * Reads entropy-coded bits MSB first. A 0xFF byte is followed by a stuffed 0x00 in the data; 0xFF followed by
 * anything else is a marker, which ends the segment: from then on the reader supplies zero bits, exactly as libjpeg's
 * jpeg_fill_bit_buffer, and consuming any of them sets `insufficient` (libjpeg's insufficient_data: the rest of the
 * segment's MCUs are then skipped). Running into the end of the file instead of a marker is a truncated file.
 */
export class BitReader {
  /** Bit buffer: the low `bits` bits are unread, the most significant of them next. */
  private buf = 0;
  private bits = 0;
  /** How many of the low buffered bits are zero padding appended after the segment ended. */
  private padBits = 0;
  /** Next byte to load. */
  pos: number;
  /** The marker that ended the current segment (code 0x01..0xFE, or END_OF_DATA), or -1 while inside it. */
  marker = -1;
  /** Offset of that marker's 0xFF byte (or data.length for END_OF_DATA). */
  markerPos = -1;
  /** libjpeg's insufficient_data: a bit past the end of the segment was consumed. */
  insufficient = false;
  /**
   * When set, every Huffman code length (> 0) and every count of raw bits read (< 0) is appended here, so that
   * jpeg-fill-model.ts can replay libjpeg's buffer refills over exactly the same reads.
   */
  ops: Int32Array | null = null;
  nOps = 0;

  constructor(
    private readonly data: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }

  /** Tops the buffer up to at least 25 bits (so any Huffman code of up to 16 bits plus its value fits). */
  private fill(): void {
    const data = this.data;
    while (this.bits <= 24) {
      let byte = 0;
      if (this.marker < 0) {
        if (this.pos >= data.length) {
          this.marker = END_OF_DATA;
          this.markerPos = data.length;
        } else {
          byte = data[this.pos];
          if (byte !== 0xff) {
            this.pos++;
          } else {
            // Skip fill bytes (FF FF ...) to see what follows, as libjpeg does.
            let p = this.pos + 1;
            while (p < data.length && data[p] === 0xff) p++;
            if (p < data.length && data[p] === 0x00) {
              this.pos = p + 1; // FF 00 is a stuffed FF data byte
            } else {
              this.marker = p < data.length ? data[p] : END_OF_DATA;
              this.markerPos = p - 1;
              byte = 0;
            }
          }
        }
      }
      if (this.marker >= 0) this.padBits += 8;
      this.buf = ((this.buf << 8) | byte) >>> 0;
      this.bits += 8;
    }
  }

  private consumed(n: number): void {
    this.bits -= n;
    if (this.bits < this.padBits) {
      if (this.marker === END_OF_DATA) decodeFail('JPEG', 'file is truncated (entropy-coded data ends early)');
      this.insufficient = true;
      this.padBits = this.bits;
    }
  }

  /** Reads `n` (0..16) raw bits as an unsigned integer. */
  getBits(n: number): number {
    if (n === 0) return 0;
    if (this.ops) this.ops[this.nOps++] = -n;
    if (this.bits < n) this.fill();
    const v = (this.buf >>> (this.bits - n)) & ((1 << n) - 1);
    this.consumed(n);
    return v;
  }

  getBit(): number {
    if (this.bits < 1) this.fill();
    const v = (this.buf >>> (this.bits - 1)) & 1;
    this.consumed(1);
    return v;
  }

  /**
   * Reads `n` bits and sign-extends them as JPEG codes magnitudes (F.2.2.1 EXTEND): values whose top bit is 0 are
   * negative, e.g. for n = 3, 000..011 mean -7..-4 and 100..111 mean 4..7.
   */
  receiveExtend(n: number): number {
    if (n === 0) return 0;
    const v = this.getBits(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  /** Decodes one Huffman-coded symbol. */
  decode(t: HuffmanTable): number {
    if (this.bits < 16) this.fill();
    const e = t.lookup[(this.buf >>> (this.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (e !== 0) {
      if (this.ops) this.ops[this.nOps++] = e >> 8;
      this.consumed(e >> 8);
      return e & 0xff;
    }
    // Slow path (codes longer than LOOKAHEAD bits): extend the code one bit at a time until it is <= maxCode[len].
    const window = (this.buf >>> (this.bits - 16)) & 0xffff;
    for (let len = LOOKAHEAD + 1; len <= 16; len++) {
      const code = window >>> (16 - len);
      if (code <= t.maxCode[len]) {
        if (this.ops) this.ops[this.nOps++] = len;
        this.consumed(len);
        return t.symbols[t.valOffset[len] + code];
      }
    }
    // No code matches: libjpeg (jpeg_huff_decode) has then read 17 bits, warns "bad Huffman code" and returns 0.
    if (this.ops) this.ops[this.nOps++] = 17;
    this.consumed(16);
    this.getBit();
    return 0;
  }

  /**
   * Ends a restart interval as libjpeg's process_restart + read_restart_marker do: the buffered bits are dropped,
   * junk up to the next marker is skipped, and a marker other than RST<expected> goes through
   * jpeg_resync_to_restart. A marker left pending (action 3) makes the next interval empty (zero bits).
   */
  restart(expected: number): void {
    this.buf = 0;
    this.bits = 0;
    this.padBits = 0;
    if (this.marker < 0) this.findMarker();
    if (this.marker === 0xd0 + expected) this.takeMarker();
    else this.resync(expected);
    if (this.marker < 0) this.insufficient = false;
  }

  /** jdmarker.c jpeg_resync_to_restart. */
  private resync(expected: number): void {
    for (;;) {
      const m = this.marker;
      if (m === END_OF_DATA) decodeFail('JPEG', 'file is truncated (expected a restart marker)');
      const rst = (d: number): number => 0xd0 + ((expected + d) & 7);
      let action: 1 | 2 | 3;
      if (m < 0xc0) action = 2; // not a valid marker: skip to the next one
      else if (m < 0xd0 || m > 0xd7) action = 3; // a real marker: leave it for the marker reader
      else if (m === rst(1) || m === rst(2)) action = 3; // one of the next two restarts: this interval is lost
      else if (m === rst(-1) || m === rst(-2)) action = 2; // an earlier restart: advance
      else action = 1; // the expected one or too far away: take it as the expected one
      if (action === 1) {
        this.takeMarker();
        return;
      }
      if (action === 3) return;
      this.takeMarker();
      this.findMarker();
    }
  }

  /** Consumes the pending marker (its 0xFF and code byte); reading resumes after it. */
  private takeMarker(): void {
    this.pos = this.markerPos + 2;
    this.marker = -1;
    this.markerPos = -1;
  }

  /** Skips to the next marker (after a scan, extra bytes before it are ignored, as libjpeg does with a warning). */
  findMarker(): void {
    if (this.marker >= 0) return;
    const data = this.data;
    let p = this.pos;
    for (;;) {
      if (p >= data.length) {
        this.marker = END_OF_DATA;
        this.markerPos = data.length;
        return;
      }
      if (data[p] === 0xff) {
        let q = p + 1;
        while (q < data.length && data[q] === 0xff) q++;
        if (q >= data.length) {
          p = q;
          continue;
        }
        if (data[q] !== 0) {
          this.marker = data[q];
          this.markerPos = q - 1;
          return;
        }
        p = q + 1;
      } else {
        p++;
      }
    }
  }
}
