/**
 * The accurate integer inverse DCT of libjpeg (jidctint.c, `jpeg_idct_islow`, the default JDCT_ISLOW method PIL uses),
 * reproduced so decoded pixels match PIL exactly.
 *
 * The 8x8 2-D IDCT is done as two 1-D passes (columns, then rows) of the Loeffler-Ligtenberg-Moschytz algorithm with
 * 12 multiplies. Constants are scaled by 2^CONST_BITS; pass 1 keeps PASS1_BITS extra bits of precision in its
 * results, which pass 2 removes together with the factor 8 of the DCT normalisation.
 *
 * Which arithmetic, exactly: PIL on x86-64 runs libjpeg-turbo's SIMD version of this IDCT (jidctint-avx2.asm, or the
 * identical SSE2 one), not the C file. Both compute the same integer formulas, so for every block a real encoder
 * produces the output is the same. They differ only when intermediate values overflow 16 bits, which takes corrupt
 * or hostile coefficients: the SIMD code keeps dequantised coefficients, the workspace between the passes and a few
 * sums in 16-bit lanes (wrapping or saturating) and saturates the final samples, where jidctint.c uses 32/64-bit
 * integers and a wrapping range-limit table. We follow the SIMD code at those points (marked wrap16 / sat16 below),
 * so even damaged files that libjpeg decodes without error come out as in PIL. Its multiplications are regrouped
 * (e.g. tmp3 = z2 * (c541 + c765) + z3 * c541 instead of z1 = (z2 + z3) * c541; tmp3 = z1 + z2 * c765), which is
 * the same integer result, and we write them in that form.
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

/** Two's-complement wrap to 16 bits (SIMD paddw / pmullw / psllw). */
const wrap16 = (x: number): number => (x << 16) >> 16;
/** Signed saturation to 16 bits (SIMD packssdw). */
const sat16 = (x: number): number => (x > 32767 ? 32767 : x < -32768 ? -32768 : x);

/**
 * One 1-D IDCT of 8 values in[0..7] (16-bit), writing 8 results, descaled by `shift` and saturated to 16 bits, to
 * out[outOff + k * outStep]. This is jidctint.c's even/odd decomposition.
 */
function idct1d(
  i0: number,
  i1: number,
  i2: number,
  i3: number,
  i4: number,
  i5: number,
  i6: number,
  i7: number,
  shift: number,
  out: Int32Array,
  outOff: number,
  outStep: number,
): void {
  // Even part: reverse the even part of the forward DCT. The rotator is sqrt(2)*c(-6).
  const tmp3 = i2 * (FIX_0_541196100 + FIX_0_765366865) + i6 * FIX_0_541196100;
  const tmp2 = i2 * FIX_0_541196100 + i6 * (FIX_0_541196100 - FIX_1_847759065);
  const tmp0 = wrap16(i0 + i4) * (1 << CONST_BITS);
  const tmp1 = wrap16(i0 - i4) * (1 << CONST_BITS);
  const tmp10 = (tmp0 + tmp3) | 0;
  const tmp13 = (tmp0 - tmp3) | 0;
  const tmp11 = (tmp1 + tmp2) | 0;
  const tmp12 = (tmp1 - tmp2) | 0;

  // Odd part per figure 8 of the paper; the matrix is unitary and hence its transpose is its inverse.
  // i7, i5, i3, i1 are the y7, y5, y3, y1 of the paper (tmp0..tmp3 of jidctint.c).
  const z3 = wrap16(i7 + i3);
  const z4 = wrap16(i5 + i1);
  // z5 = (z3 + z4) * c1175;  z3 = z3 * -c1961 + z5;  z4 = z4 * -c0390 + z5
  const z3r = z3 * (FIX_1_175875602 - FIX_1_961570560) + z4 * FIX_1_175875602;
  const z4r = z3 * FIX_1_175875602 + z4 * (FIX_1_175875602 - FIX_0_390180644);
  // With z1 = y7 + y1 and z2 = y5 + y3 folded in (z1 * -c0899, z2 * -c2562):
  const o0 = (i7 * (FIX_0_298631336 - FIX_0_899976223) + i1 * -FIX_0_899976223 + z3r) | 0;
  const o1 = (i5 * (FIX_2_053119869 - FIX_2_562915447) + i3 * -FIX_2_562915447 + z4r) | 0;
  const o2 = (i5 * -FIX_2_562915447 + i3 * (FIX_3_072711026 - FIX_2_562915447) + z3r) | 0;
  const o3 = (i7 * -FIX_0_899976223 + i1 * (FIX_1_501321110 - FIX_0_899976223) + z4r) | 0;

  // Final output stage: DESCALE(x, shift) = (x + 2^(shift-1)) >> shift, in 32-bit lanes, then packed to 16 bits.
  const round = 1 << (shift - 1);
  out[outOff] = sat16((((tmp10 + o3) | 0) + round) >> shift);
  out[outOff + 7 * outStep] = sat16((((tmp10 - o3) | 0) + round) >> shift);
  out[outOff + outStep] = sat16((((tmp11 + o2) | 0) + round) >> shift);
  out[outOff + 6 * outStep] = sat16((((tmp11 - o2) | 0) + round) >> shift);
  out[outOff + 2 * outStep] = sat16((((tmp12 + o1) | 0) + round) >> shift);
  out[outOff + 5 * outStep] = sat16((((tmp12 - o1) | 0) + round) >> shift);
  out[outOff + 3 * outStep] = sat16((((tmp13 + o0) | 0) + round) >> shift);
  out[outOff + 4 * outStep] = sat16((((tmp13 - o0) | 0) + round) >> shift);
}

/**
 * Dequantises and inverse-transforms one block.
 * @param coef 64 coefficients in natural (row-major) order, starting at `coefOff`.
 * @param quant the component's quantisation table in natural order, already cast as libjpeg's ISLOW_MULT_TYPE (short).
 * @param ws a reusable 64-entry workspace (plus 8 entries of scratch for one output row).
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
  // Pass 1: columns -> workspace (column c of the block goes to ws[c], ws[c + 8], ...).
  let acZero = true;
  for (let k = 8; k < 64; k++) {
    if (coef[coefOff + k] !== 0) {
      acZero = false;
      break;
    }
  }
  if (acZero) {
    // Only DC terms: every column is constant, DC * quant << PASS1_BITS (in 16-bit lanes).
    for (let c = 0; c < 8; c++) {
      const dc = wrap16(wrap16(coef[coefOff + c] * quant[c]) << PASS1_BITS);
      for (let r = 0; r < 64; r += 8) ws[r + c] = dc;
    }
  } else {
    for (let c = 0; c < 8; c++) {
      const i = coefOff + c;
      idct1d(
        wrap16(coef[i] * quant[c]),
        wrap16(coef[i + 8] * quant[c + 8]),
        wrap16(coef[i + 16] * quant[c + 16]),
        wrap16(coef[i + 24] * quant[c + 24]),
        wrap16(coef[i + 32] * quant[c + 32]),
        wrap16(coef[i + 40] * quant[c + 40]),
        wrap16(coef[i + 48] * quant[c + 48]),
        wrap16(coef[i + 56] * quant[c + 56]),
        CONST_BITS - PASS1_BITS,
        ws,
        c,
        8,
      );
    }
  }

  // Pass 2: rows of the workspace -> samples. The descale also removes PASS1_BITS and the DCT's factor 8 (2^3);
  // results are saturated to -128..127 and shifted by +128 (CENTERJSAMPLE).
  for (let r = 0; r < 64; r += 8) {
    idct1d(ws[r], ws[r + 1], ws[r + 2], ws[r + 3], ws[r + 4], ws[r + 5], ws[r + 6], ws[r + 7],
      CONST_BITS + PASS1_BITS + 3, ws, 64, 1);
    const o = outOff + (r >> 3) * stride;
    for (let k = 0; k < 8; k++) {
      const v = ws[64 + k];
      out[o + k] = v < -128 ? 0 : v > 127 ? 255 : v + 128;
    }
  }
}

/** Casts a quantisation table (natural order, UINT16 values) to libjpeg's ISLOW_MULT_TYPE, a 16-bit `short`. */
export function islowMultiplierTable(quantNatural: Uint16Array): Int32Array {
  const t = new Int32Array(64);
  for (let i = 0; i < 64; i++) t[i] = (quantNatural[i] << 16) >> 16;
  return t;
}
