/**
 * libjpeg-turbo's interblock smoothing for progressive JPEGs (jdcoefct.c, smoothing_ok + decompress_smooth_data, the
 * 5x5-neighbourhood version of libjpeg-turbo 2.1+).
 *
 * When a progressive file's scans leave some of the first nine AC coefficients of a component unsent or not fully
 * refined (an "incomplete" image; complete files from libjpeg/PIL/OpenCV never are), libjpeg does not decode the
 * blocks as they are: for each block it estimates those still-zero coefficients from the DC values of the 5x5
 * surrounding blocks (JPEG spec K.8, widened), and when no AC data at all arrived for a component it also smooths the
 * DC. PIL inherits this, so we reproduce it, including libjpeg's edge handling.
 */

/** Natural-order positions of the first nine AC coefficients in zigzag order: 01 10 20 11 02 03 12 21 30. */
const POS = [1, 8, 16, 9, 2, 3, 10, 17, 24];
export const SAVED_COEFS = 10;

/** What the smoother needs to know about one component. */
export interface SmoothComponent {
  v: number;
  blocksW: number;
  blocksH: number;
  allocW: number;
  coefs: Int16Array;
  /** The latched quantisation table (natural order, raw 16-bit values), or null if no scan used the component. */
  quantRaw: Uint16Array | null;
  /** coef_bits[0..9]: the Al of the last scan that sent each coefficient, -1 if none did. */
  coefBits: Int8Array;
  /** The same before the component's latest scan (prev_coef_bits). */
  prevCoefBits: Int8Array;
}

/** smoothing_ok: every component scanned with usable quantisers and some DC, and some AC still inaccurate. */
export function smoothingApplies(comps: SmoothComponent[]): boolean {
  let useful = false;
  for (const c of comps) {
    const q = c.quantRaw;
    if (!q) return false;
    if (q[0] === 0 || POS.some((p) => q[p] === 0)) return false;
    if (c.coefBits[0] < 0) return false;
    for (let k = 1; k < SAVED_COEFS; k++) if (c.coefBits[k] !== 0) useful = true;
  }
  return useful;
}

/**
 * Returns a function that copies block (by, bx) of component `c` into `ws` with its missing low-frequency
 * coefficients estimated. `totalRows` is the image's number of iMCU rows.
 */
export function makeBlockSmoother(
  c: SmoothComponent,
  totalRows: number,
  scans: number,
  lastGoodRow: number,
): (by: number, bx: number, ws: Int16Array) => void {
  // Rows after the last one the final scan reached with data left are smoothed with the coefficient states from
  // before that scan (smoothing_ok latches prev_coef_bits, or -1 when the file has a single scan).
  const prevBits = scans > 1 ? c.prevCoefBits : new Int8Array(SAVED_COEFS).fill(-1);
  const allMissing = (b: Int8Array): boolean => [1, 2, 3, 4, 5, 6, 7, 8, 9].every((k) => b[k] === -1);
  const changeDcNow = allMissing(c.coefBits);
  const changeDcPrev = allMissing(prevBits);
  let bits = c.coefBits;
  let changeDc = changeDcNow;
  const q = c.quantRaw!;
  const Q00 = q[0];
  // libjpeg reads the DC values through five sliding registers per window row. Replaying their updates gives, for
  // each block column, the five columns it actually uses: bx-2..bx+2 clamped to the image, except that in
  // libjpeg-turbo 2.1 a component exactly two blocks wide sees columns (0,0,0,1,0) and (0,0,1,0,0), a quirk later
  // releases fixed; PIL 9.4 on Debian runs 2.1.5, so we keep it.
  const lastCol = c.blocksW - 1;
  const windowCols = new Int32Array(c.blocksW * 5);
  {
    const reg = [0, 0, 0, 0, 0];
    for (let bx = 0; bx <= lastCol; bx++) {
      if (bx < lastCol) reg[3] = bx + 1;
      if (bx + 1 < lastCol) reg[4] = bx + 2;
      windowCols.set(reg, bx * 5);
      reg[0] = reg[1];
      reg[1] = reg[2];
      reg[2] = reg[3];
      reg[3] = reg[4];
    }
  }
  const dc = (row: number, col: number): number => c.coefs[(row * c.allocW + col) * 64];

  /**
   * One estimate: pred = round(num / (Q * 2^8)) with the sign handled separately, limited below 2^Al when the
   * coefficient's remaining bits are known to be zero. Integer division truncates, as in C.
   */
  const estimate = (num: number, Qk: number, al: number): number => {
    const neg = num < 0;
    // JLONG division, then the C cast to int (| 0).
    let pred = Math.trunc((Qk * 128 + (neg ? -num : num)) / (Qk * 256)) | 0;
    if (al > 0 && pred >= 1 << al) pred = (1 << al) - 1;
    return neg ? -pred | 0 : pred;
  };
  const D = new Array<number>(26).fill(0);
  const rows = [0, 0, 0, 0, 0];

  return (by, bx, ws) => {
    ws.set(c.coefs.subarray((by * c.allocW + bx) * 64, (by * c.allocW + bx) * 64 + 64));

    // Rows of the 5x5 window, clamped at the image's top and bottom the way libjpeg-turbo 2.1 decides it: from the
    // position inside the current iMCU row (block_row of block_rows) and the iMCU row's index.
    const v = c.v;
    const m = Math.floor(by / v);
    const late = m > lastGoodRow;
    bits = late ? prevBits : c.coefBits;
    changeDc = late ? changeDcPrev : changeDcNow;
    const b = by - m * v;
    const lastRow = totalRows - 1;
    const blockRows = m === lastRow ? c.blocksH % v || v : v;
    const rPrev = b > 0 || m > 0 ? by - 1 : by;
    const rNext = b < blockRows - 1 || m < lastRow ? by + 1 : by;
    rows[0] = b > 1 || m > 1 ? by - 2 : rPrev;
    rows[1] = rPrev;
    rows[2] = by;
    rows[3] = rNext;
    rows[4] = b < blockRows - 2 || m + 1 < lastRow ? by + 2 : rNext;
    // DC01..DC25 in libjpeg's naming: row-major over the window.
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) D[1 + 5 * i + j] = dc(rows[i], windowCols[bx * 5 + j]);

    let al: number;
    // AC01
    if ((al = bits[1]) !== 0 && ws[1] === 0) {
      const n = changeDc
        ? -D[1] - D[2] + D[4] + D[5] - 3 * D[6] + 13 * D[7] - 13 * D[9] + 3 * D[10] - 3 * D[11] + 38 * D[12] -
          38 * D[14] + 3 * D[15] - 3 * D[16] + 13 * D[17] - 13 * D[19] + 3 * D[20] - D[21] - D[22] + D[24] + D[25]
        : -7 * D[11] + 50 * D[12] - 50 * D[14] + 7 * D[15];
      ws[1] = estimate(Q00 * n, q[1], al);
    }
    // AC10
    if ((al = bits[2]) !== 0 && ws[8] === 0) {
      const n = changeDc
        ? -D[1] - 3 * D[2] - 3 * D[3] - 3 * D[4] - D[5] - D[6] + 13 * D[7] + 38 * D[8] + 13 * D[9] - D[10] + D[16] -
          13 * D[17] - 38 * D[18] - 13 * D[19] + D[20] + D[21] + 3 * D[22] + 3 * D[23] + 3 * D[24] + D[25]
        : -7 * D[3] + 50 * D[8] - 50 * D[18] + 7 * D[23];
      ws[8] = estimate(Q00 * n, q[8], al);
    }
    // AC20
    if ((al = bits[3]) !== 0 && ws[16] === 0) {
      const n = changeDc
        ? D[3] + 2 * D[7] + 7 * D[8] + 2 * D[9] - 5 * D[12] - 14 * D[13] - 5 * D[14] + 2 * D[17] + 7 * D[18] +
          2 * D[19] + D[23]
        : -D[3] + 13 * D[8] - 24 * D[13] + 13 * D[18] - D[23];
      ws[16] = estimate(Q00 * n, q[16], al);
    }
    // AC11
    if ((al = bits[4]) !== 0 && ws[9] === 0) {
      const n = changeDc
        ? -D[1] + D[5] + 9 * D[7] - 9 * D[9] - 9 * D[17] + 9 * D[19] + D[21] - D[25]
        : D[10] + D[16] - 10 * D[17] + 10 * D[19] - D[2] - D[20] + D[22] - D[24] + D[4] - D[6] + 10 * D[7] -
          10 * D[9];
      ws[9] = estimate(Q00 * n, q[9], al);
    }
    // AC02
    if ((al = bits[5]) !== 0 && ws[2] === 0) {
      const n = changeDc
        ? 2 * D[7] - 5 * D[8] + 2 * D[9] + D[11] + 7 * D[12] - 14 * D[13] + 7 * D[14] + D[15] + 2 * D[17] -
          5 * D[18] + 2 * D[19]
        : -D[11] + 13 * D[12] - 24 * D[13] + 13 * D[14] - D[15];
      ws[2] = estimate(Q00 * n, q[2], al);
    }
    if (changeDc) {
      // AC03, AC12, AC21, AC30
      if ((al = bits[6]) !== 0 && ws[3] === 0) {
        ws[3] = estimate(Q00 * (D[7] - D[9] + 2 * D[12] - 2 * D[14] + D[17] - D[19]), q[3], al);
      }
      if ((al = bits[7]) !== 0 && ws[10] === 0) {
        ws[10] = estimate(Q00 * (D[7] - 3 * D[8] + D[9] - D[17] + 3 * D[18] - D[19]), q[10], al);
      }
      if ((al = bits[8]) !== 0 && ws[17] === 0) {
        ws[17] = estimate(Q00 * (D[7] - D[9] - 3 * D[12] + 3 * D[14] + D[17] - D[19]), q[17], al);
      }
      if ((al = bits[9]) !== 0 && ws[24] === 0) {
        ws[24] = estimate(Q00 * (D[7] + 2 * D[8] + D[9] - D[17] - 2 * D[18] - D[19]), q[24], al);
      }
      // DC: a Gaussian-like 5x5 average of the DC values (no clamping to 2^Al here).
      const n =
        -2 * D[1] - 6 * D[2] - 8 * D[3] - 6 * D[4] - 2 * D[5] - 6 * D[6] + 6 * D[7] + 42 * D[8] + 6 * D[9] -
        6 * D[10] - 8 * D[11] + 42 * D[12] + 152 * D[13] + 42 * D[14] - 8 * D[15] - 6 * D[16] + 6 * D[17] +
        42 * D[18] + 6 * D[19] - 6 * D[20] - 2 * D[21] - 6 * D[22] - 8 * D[23] - 6 * D[24] - 2 * D[25];
      ws[0] = estimate(Q00 * n, Q00, 0);
    }
  };
}
