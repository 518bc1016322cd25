/**
 * When does PIL call a JPEG truncated? PIL feeds libjpeg-turbo through a suspending source, 64 KiB at a time, and
 * with ImageFile.LOAD_TRUNCATED_IMAGES off (the default) a suspension at the end of the file is an error ("image file
 * is truncated"). libjpeg suspends whenever it *tries* to refill its 64-bit bit buffer past the end of the data,
 * which it does up to 57 bits ahead of what it needs. So a single-scan file whose entropy-coded data runs to the
 * very end (no EOI, no marker) is accepted or refused depending on libjpeg's refill schedule, not on whether the data
 * is complete: 3% of such PIL-written files decode, the rest fail.
 *
 * This model replays that schedule (jdhuff.c: decode_mcu with its fast and slow paths, jpeg_fill_bit_buffer,
 * FILL_BIT_BUFFER_FAST) over the reads the real decoder made in each MCU, to give the same verdict. It only matters
 * for a segment with no marker after it; everywhere else libjpeg's refills stop at the marker and cannot suspend
 * at the end of the file.
 */
import { decodeFail } from './types';

/** PIL's ImageFile.decodermaxblock: libjpeg sees the file in chunks ending at multiples of this. */
const PIL_CHUNK = 65536;
/** jdhuff.h MIN_GET_BITS for a 64-bit bit buffer. */
const MIN_GET_BITS = 57;
/** jdhuff.c BUFSIZE: the fast path needs this many bytes per block left in the source buffer. */
const FAST_BYTES_PER_BLOCK = 512;

export class LibjpegFillModel {
  /** libjpeg's bits_left and next_input_byte. */
  private bitsLeft = 0;
  private pos: number;
  /** End of the bytes PIL has handed to libjpeg so far. */
  private chunkEnd: number;

  constructor(
    private readonly data: Uint8Array,
    segmentStart: number,
    private readonly restartInterval: number,
    private readonly blocksInMcu: number,
  ) {
    this.pos = segmentStart;
    this.chunkEnd = Math.min(data.length, Math.ceil(segmentStart / PIL_CHUNK) * PIL_CHUNK);
  }

  /**
   * Replays one MCU's reads (`ops[0..n)`: Huffman code lengths > 0, raw bit counts < 0). Throws the truncation error
   * PIL reports when libjpeg would suspend at the end of the file; a suspension at the end of a chunk only makes
   * libjpeg decode the MCU again once PIL has passed the next chunk.
   */
  mcu(ops: Int32Array, n: number): void {
    const bits0 = this.bitsLeft;
    const pos0 = this.pos;
    for (;;) {
      const fast =
        this.restartInterval === 0 && this.chunkEnd - this.pos >= FAST_BYTES_PER_BLOCK * this.blocksInMcu;
      if (fast && this.fastPath(ops, n)) return;
      this.bitsLeft = bits0;
      this.pos = pos0;
      if (this.slowPath(ops, n)) return;
      if (this.chunkEnd >= this.data.length) decodeFail('JPEG', 'file is truncated (entropy-coded data ends early)');
      this.chunkEnd = Math.min(this.data.length, this.chunkEnd + PIL_CHUNK);
      this.bitsLeft = bits0;
      this.pos = pos0;
    }
  }

  /** decode_mcu_fast: refill 6 bytes whenever 16 bits or fewer are left. False where it would hand over to the slow path. */
  private fastPath(ops: Int32Array, n: number): boolean {
    const data = this.data;
    for (let i = 0; i < n; i++) {
      if (this.bitsLeft <= 16) {
        for (let k = 0; k < 6; k++) {
          if (this.pos + 1 >= data.length) return false;
          const c0 = data[this.pos++];
          this.bitsLeft += 8;
          if (c0 === 0xff) {
            if (data[this.pos] !== 0) return false; // a marker (or FF FF): libjpeg redoes the MCU slowly
            this.pos++;
          }
        }
      }
      this.bitsLeft -= Math.abs(ops[i]);
    }
    return true;
  }

  /** decode_mcu_slow with HUFF_DECODE / CHECK_BIT_BUFFER refills. False where libjpeg would suspend. */
  private slowPath(ops: Int32Array, n: number): boolean {
    for (let i = 0; i < n; i++) {
      const op = ops[i];
      if (op < 0) {
        if (this.bitsLeft < -op && !this.fill()) return false;
        this.bitsLeft += op;
        continue;
      }
      if (this.bitsLeft < 8 && !this.fill()) return false;
      if (op <= 8) {
        this.bitsLeft -= op;
        continue;
      }
      // jpeg_huff_decode: 9 bits at once, then one at a time.
      if (this.bitsLeft < 9 && !this.fill()) return false;
      this.bitsLeft -= 9;
      for (let k = 9; k < op; k++) {
        if (this.bitsLeft < 1 && !this.fill()) return false;
        this.bitsLeft--;
      }
    }
    return true;
  }

  /** jpeg_fill_bit_buffer: load bytes until 57 bits are buffered; false if the bytes run out first. */
  private fill(): boolean {
    const data = this.data;
    while (this.bitsLeft < MIN_GET_BITS) {
      if (this.pos >= this.chunkEnd) return false;
      let c = data[this.pos++];
      if (c === 0xff) {
        do {
          if (this.pos >= this.chunkEnd) return false;
          c = data[this.pos++];
        } while (c === 0xff);
        // c !== 0 would be a marker, which this model is never used ahead of.
      }
      this.bitsLeft += 8;
    }
    return true;
  }
}
