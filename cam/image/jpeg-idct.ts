/**
 * The accurate integer inverse DCT of libjpeg (jidctint.c, `jpeg_idct_islow`, the default JDCT_ISLOW method PIL
 * uses), reproduced operation for operation so decoded pixels match PIL exactly.
 *
 * The 8x8 2-D IDCT is done as two 1-D passes (columns, then rows) of the Loeffler-Ligtenberg-Moschytz algorithm with
 * 12 multiplies. Constants are scaled by 2^CONST_BITS; pass 1 keeps PASS1_BITS extra bits of precision in its
 * results, which pass 2 removes together with the factor 8 of the DCT normalisation.
 *
 * Arithmetic: libjpeg computes in 64-bit `JLONG` and stores pass-1 results as 32-bit `int`. JavaScript numbers are
 * exact integers up to 2^53, which covers every intermediate value even for hostile coefficients (16-bit
 * coefficient x 16-bit quantiser x constants < 2^51), so +, - and * are written plainly; right shifts of possibly
 * large values are `Math.floor(x * 2^-n)` (exact, arithmetic like C's >>), and `| 0` reproduces the C cast to int.
 */

const CONST_BITS = 13;
const PASS1_BITS = 2;

const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/** 2^-n multipliers for DESCALE. */
const PASS1_SCALE = 2 ** -(CONST_BITS - PASS1_BITS);
const PASS1_ROUND = 2 ** (CONST_BITS - PASS1_BITS - 1);
const PASS2_SHIFT = CONST_BITS + PASS1_BITS + 3;
const PASS2_SCALE = 2 ** -PASS2_SHIFT;
const PASS2_ROUND = 2 ** (PASS2_SHIFT - 1);
const CONST_SCALE = 2 ** CONST_BITS;

/**
 * libjpeg's post-IDCT range limiting (jdmaster.c prepare_range_limit_table): the output is indexed by
 * `(value) & 1023`, where value is the sample minus 128. In-range values map to value + 128, moderate overshoots
 * saturate to 0 or 255, and wild values wrap around (the table is periodic), exactly like `range_limit[x & RANGE_MASK]`.
 */
const RANGE_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) {
    if (i < 128) t[i] = i + 128;
    else if (i < 512) t[i] = 255;
    else if (i < 896) t[i] = 0;
    else t[i] = i - 896;
  }
  return t;
})();

const SAT = (v: number): number => (v < -128 ? 0 : v > 127 ? 255 : v + 128);

/**
 * Dequantises and inverse-transforms one block.
 * @param coef 64 coefficients in natural (row-major) order, starting at `coefOff`.
 * @param quant the component's quantisation table in natural order, already cast as libjpeg's ISLOW_MULT_TYPE (short).
 * @param ws a reusable 64-entry workspace.
 * @param out destination plane; the block's top-left sample is at `outOff`, rows `stride` apart.
 */
export function idctIslow(
  coef: Int16Array,
  coefOff: number,
  quant: Int32Array,
  ws: Int32Array,
  out: Uint8Array,
  outOff: number,
  stride: number,
): void {
  // Pass 1: process columns from the input, store into the work array.
  for (let c = 0; c < 8; c++) {
    const i = coefOff + c;
    // Columns whose AC terms are all zero (common) give the same value in all 8 rows.
    if (
      coef[i + 8] === 0 &&
      coef[i + 16] === 0 &&
      coef[i + 24] === 0 &&
      coef[i + 32] === 0 &&
      coef[i + 40] === 0 &&
      coef[i + 48] === 0 &&
      coef[i + 56] === 0
    ) {
      const dc = (coef[i] * quant[c] * (1 << PASS1_BITS)) | 0;
      for (let r = 0; r < 64; r += 8) ws[c + r] = dc;
      continue;
    }

    // Even part: reverse the even part of the forward DCT. The rotator is sqrt(2)*c(-6).
    let z2 = coef[i + 16] * quant[c + 16];
    let z3 = coef[i + 48] * quant[c + 48];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;

    z2 = coef[i] * quant[c];
    z3 = coef[i + 32] * quant[c + 32];
    let tmp0 = (z2 + z3) * CONST_SCALE;
    let tmp1 = (z2 - z3) * CONST_SCALE;

    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    // Odd part per figure 8 of the paper; the matrix is unitary and hence its transpose is its inverse.
    tmp0 = coef[i + 56] * quant[c + 56];
    tmp1 = coef[i + 40] * quant[c + 40];
    tmp2 = coef[i + 24] * quant[c + 24];
    tmp3 = coef[i + 8] * quant[c + 8];

    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602; // sqrt(2) * c3

    tmp0 *= FIX_0_298631336; // sqrt(2) * (-c1+c3+c5-c7)
    tmp1 *= FIX_2_053119869; // sqrt(2) * ( c1+c3-c5+c7)
    tmp2 *= FIX_3_072711026; // sqrt(2) * ( c1+c3+c5-c7)
    tmp3 *= FIX_1_501321110; // sqrt(2) * ( c1+c3-c5-c7)
    z1 *= -FIX_0_899976223; // sqrt(2) * ( c7-c3)
    z2 *= -FIX_2_562915447; // sqrt(2) * (-c1-c3)
    z3 *= -FIX_1_961570560; // sqrt(2) * (-c3-c5)
    z4 *= -FIX_0_390180644; // sqrt(2) * ( c5-c3)

    z3 += z5;
    z4 += z5;

    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    // Final output stage: DESCALE(x, CONST_BITS - PASS1_BITS), stored as C int.
    ws[c] = Math.floor((tmp10 + tmp3 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[c + 56] = Math.floor((tmp10 - tmp3 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[c + 8] = Math.floor((tmp11 + tmp2 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[c + 48] = Math.floor((tmp11 - tmp2 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[c + 16] = Math.floor((tmp12 + tmp1 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[c + 40] = Math.floor((tmp12 - tmp1 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[c + 24] = Math.floor((tmp13 + tmp0 + PASS1_ROUND) * PASS1_SCALE) | 0;
    ws[c + 32] = Math.floor((tmp13 - tmp0 + PASS1_ROUND) * PASS1_SCALE) | 0;
  }

  // Pass 2: process the 8 rows of the work array, store into the output plane. Results are descaled by
  // 2^(CONST_BITS + PASS1_BITS + 3) (the 3 is the DCT's factor 8) and range-limited.
  for (let r = 0; r < 64; r += 8) {
    const o = outOff + (r >> 3) * stride;
    if (
      ws[r + 1] === 0 &&
      ws[r + 2] === 0 &&
      ws[r + 3] === 0 &&
      ws[r + 4] === 0 &&
      ws[r + 5] === 0 &&
      ws[r + 6] === 0 &&
      ws[r + 7] === 0
    ) {
      // AC terms all zero: DESCALE(ws[0], PASS1_BITS + 3), computed in 64 bits by libjpeg (ws[0] + 16 may not fit).
      const v = SAT(Math.floor((ws[r] + (1 << (PASS1_BITS + 2))) / (1 << (PASS1_BITS + 3))));
      for (let k = 0; k < 8; k++) out[o + k] = v;
      continue;
    }

    // Even part.
    let z2 = ws[r + 2];
    let z3 = ws[r + 6];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;

    let tmp0 = (ws[r] + ws[r + 4]) * CONST_SCALE;
    let tmp1 = (ws[r] - ws[r + 4]) * CONST_SCALE;

    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    // Odd part.
    tmp0 = ws[r + 7];
    tmp1 = ws[r + 5];
    tmp2 = ws[r + 3];
    tmp3 = ws[r + 1];

    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;

    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 *= -FIX_1_961570560;
    z4 *= -FIX_0_390180644;

    z3 += z5;
    z4 += z5;

    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    // `& 1023` applies C's (int) cast (ToInt32) and RANGE_MASK in one step.
    out[o] = SAT(Math.floor((tmp10 + tmp3 + PASS2_ROUND) * PASS2_SCALE));
    out[o + 7] = SAT(Math.floor((tmp10 - tmp3 + PASS2_ROUND) * PASS2_SCALE));
    out[o + 1] = SAT(Math.floor((tmp11 + tmp2 + PASS2_ROUND) * PASS2_SCALE));
    out[o + 6] = SAT(Math.floor((tmp11 - tmp2 + PASS2_ROUND) * PASS2_SCALE));
    out[o + 2] = SAT(Math.floor((tmp12 + tmp1 + PASS2_ROUND) * PASS2_SCALE));
    out[o + 5] = SAT(Math.floor((tmp12 - tmp1 + PASS2_ROUND) * PASS2_SCALE));
    out[o + 3] = SAT(Math.floor((tmp13 + tmp0 + PASS2_ROUND) * PASS2_SCALE));
    out[o + 4] = SAT(Math.floor((tmp13 - tmp0 + PASS2_ROUND) * PASS2_SCALE));
  }
}

/** Casts a quantisation table (natural order, UINT16 values) to libjpeg's ISLOW_MULT_TYPE, a 16-bit `short`. */
export function islowMultiplierTable(quantNatural: Uint16Array): Int32Array {
  const t = new Int32Array(64);
  for (let i = 0; i < 64; i++) t[i] = (quantNatural[i] << 16) >> 16;
  return t;
}
