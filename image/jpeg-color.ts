/**
 * Turns decoded JPEG component planes into interleaved RGB the way libjpeg-turbo 2.1 does by default (PIL never
 * changes these settings): chroma upsampling per jdsample.c with `do_fancy_upsampling = TRUE`, then colour conversion
 * per jdcolor.c with its fixed-point tables.
 *
 * Upsampling method per component (chosen exactly as jinit_upsampler does, from the ratio of the largest sampling
 * factors to the component's):
 *   1:1           copied;
 *   2:1 horiz.    "fancy" triangle filter (3/4 nearer + 1/4 further sample), box replication if the component is
 *                 at most 2 samples wide;
 *   1:2 vertical  fancy triangle filter between rows (libjpeg-turbo >= 2.0; plain libjpeg replicates);
 *   2:2           fancy triangle filter in both directions, box replication if at most 2 samples wide;
 *   other integer ratios (3:1, 4:1, 1:4, ...) box replication; non-integer ratios are rejected, as libjpeg does.
 * Fancy filters clamp at the edges: the row above the first is the first row, the row below the last real row
 * (`downsampled_height - 1`) repeats it, and the same for columns (`downsampled_width`), as jdmainct.c /
 * jdsample.c arrange with their context-row pointers.
 */
import { decodeFail } from './types';

/** One decoded component: IDCT output, of which the top-left `width` x `height` samples are real. */
export interface ComponentPlane {
  data: Uint8Array;
  stride: number;
  /** libjpeg's downsampled_width / downsampled_height: ceil(image size * factor / max factor). */
  width: number;
  height: number;
  h: number;
  v: number;
}

export type JpegColorSpace = 'gray' | 'ycbcr' | 'rgb' | 'cmyk' | 'ycck';

type Method = 'full' | 'h2v1' | 'h1v2' | 'h2v2' | 'int';

interface Upsampler {
  plane: ComponentPlane;
  method: Method;
  /** Integer expansion factors (for 'int'; 2/1 etc. for the named methods). */
  he: number;
  ve: number;
  /** Output row buffer (unused for 'full', which reads the plane directly). */
  row: Uint8Array;
}

function chooseUpsampler(p: ComponentPlane, hmax: number, vmax: number): Upsampler {
  const rowLen = p.width * Math.ceil(hmax / p.h) + 2;
  let method: Method;
  if (p.h === hmax && p.v === vmax) method = 'full';
  else if (p.h * 2 === hmax && p.v === vmax) method = p.width > 2 ? 'h2v1' : 'int';
  else if (p.h === hmax && p.v * 2 === vmax) method = 'h1v2';
  else if (p.h * 2 === hmax && p.v * 2 === vmax) method = p.width > 2 ? 'h2v2' : 'int';
  else if (hmax % p.h === 0 && vmax % p.v === 0) method = 'int';
  else return decodeFail('JPEG', `unsupported (fractional) sampling factors ${p.h}x${p.v} of max ${hmax}x${vmax}`);
  return { plane: p, method, he: hmax / p.h, ve: vmax / p.v, row: new Uint8Array(method === 'full' ? 0 : rowLen) };
}

/**
 * Produces output row `y` of one component into `u.row` (or returns the plane offset for 'full').
 * Returns [buffer, offset of sample 0].
 */
function upsampleRow(u: Upsampler, y: number): [Uint8Array, number] {
  const p = u.plane;
  const src = p.data;
  const n = p.width;
  const out = u.row;
  switch (u.method) {
    case 'full':
      return [src, y * p.stride];

    case 'h2v1': {
      // h2v1_fancy_upsample: each output pair is 3/4 of its own sample plus 1/4 of the neighbour on that side;
      // the +1/+2 biases alternate so rounding does not drift in one direction.
      const s = y * p.stride;
      let v = src[s];
      out[0] = v;
      out[1] = (v * 3 + src[s + 1] + 2) >> 2;
      for (let i = 1; i < n - 1; i++) {
        v = src[s + i] * 3;
        out[2 * i] = (v + src[s + i - 1] + 1) >> 2;
        out[2 * i + 1] = (v + src[s + i + 1] + 2) >> 2;
      }
      v = src[s + n - 1];
      out[2 * n - 2] = (v * 3 + src[s + n - 2] + 1) >> 2;
      out[2 * n - 1] = v;
      return [out, 0];
    }

    case 'h1v2': {
      // h1v2_fancy_upsample: output row 2r+v mixes input row r (3/4) with row r-1 (v = 0) or r+1 (v = 1).
      const r = y >> 1;
      const far = (y & 1) === 0 ? Math.max(r - 1, 0) : Math.min(r + 1, p.height - 1);
      const bias = (y & 1) === 0 ? 1 : 2;
      const s0 = r * p.stride;
      const s1 = far * p.stride;
      for (let i = 0; i < n; i++) out[i] = (src[s0 + i] * 3 + src[s1 + i] + bias) >> 2;
      return [out, 0];
    }

    case 'h2v2': {
      // h2v2_fancy_upsample: first the vertical 3:1 column sums (scaled by 4), then the horizontal 3:1 mix of
      // those sums (scaled by 16), with biases 8 and 7.
      const r = y >> 1;
      const far = (y & 1) === 0 ? Math.max(r - 1, 0) : Math.min(r + 1, p.height - 1);
      const s0 = r * p.stride;
      const s1 = far * p.stride;
      let thisSum = src[s0] * 3 + src[s1];
      let nextSum = src[s0 + 1] * 3 + src[s1 + 1];
      out[0] = (thisSum * 4 + 8) >> 4;
      out[1] = (thisSum * 3 + nextSum + 7) >> 4;
      let lastSum = thisSum;
      thisSum = nextSum;
      for (let i = 1; i < n - 1; i++) {
        nextSum = src[s0 + i + 1] * 3 + src[s1 + i + 1];
        out[2 * i] = (thisSum * 3 + lastSum + 8) >> 4;
        out[2 * i + 1] = (thisSum * 3 + nextSum + 7) >> 4;
        lastSum = thisSum;
        thisSum = nextSum;
      }
      out[2 * n - 2] = (thisSum * 3 + lastSum + 8) >> 4;
      out[2 * n - 1] = (thisSum * 4 + 7) >> 4;
      return [out, 0];
    }

    case 'int': {
      // int_upsample (and h2v1_upsample / h2v2_upsample): plain replication.
      const s = Math.floor(y / u.ve) * p.stride;
      const he = u.he;
      for (let i = 0, o = 0; i < n; i++) {
        const v = src[s + i];
        for (let k = 0; k < he; k++) out[o++] = v;
      }
      return [out, 0];
    }
  }
}

// jdcolor.c build_ycc_rgb_table: R = Y + 1.402 Cr, G = Y - 0.34414 Cb - 0.71414 Cr, B = Y + 1.772 Cb, with
// Cb, Cr centred on 128 and the coefficients in 16-bit fixed point, FIX(x) = round(x * 65536).
const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number): number => Math.floor(x * (1 << SCALEBITS) + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (fix(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (fix(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF; // the rounding constant rides along in the Cb term
}
/** Saturating lookup for Y + offset, offset in [-227, 227]: index value + CLAMP_OFF. */
const CLAMP_OFF = 384;
const CLAMP = new Uint8Array(1024);
for (let i = 0; i < 1024; i++) CLAMP[i] = Math.min(255, Math.max(0, i - CLAMP_OFF));

/**
 * Upsamples and colour-converts the planes into an RGB buffer of `width * height * 3` bytes.
 * Grayscale is replicated into R, G and B, as PIL's convert('RGB') does for an 'L' image; four-component images go
 * the way PIL takes them (see cmykRowToRgb).
 */
export function planesToRgb(
  planes: ComponentPlane[],
  width: number,
  height: number,
  colorSpace: JpegColorSpace,
): Uint8Array {
  let hmax = 1;
  let vmax = 1;
  for (const p of planes) {
    hmax = Math.max(hmax, p.h);
    vmax = Math.max(vmax, p.v);
  }
  const ups = planes.map((p) => chooseUpsampler(p, hmax, vmax));
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const o = y * width * 3;
    if (colorSpace === 'gray') {
      const [g, go] = upsampleRow(ups[0], y);
      for (let x = 0, p = o; x < width; x++, p += 3) {
        const v = g[go + x];
        out[p] = v;
        out[p + 1] = v;
        out[p + 2] = v;
      }
      continue;
    }
    const [c0, o0] = upsampleRow(ups[0], y);
    const [c1, o1] = upsampleRow(ups[1], y);
    const [c2, o2] = upsampleRow(ups[2], y);
    if (colorSpace === 'cmyk' || colorSpace === 'ycck') {
      const [c3, o3] = upsampleRow(ups[3], y);
      cmykRowToRgb(colorSpace === 'ycck', [c0, c1, c2, c3], [o0, o1, o2, o3], out, o, width);
      continue;
    }
    if (colorSpace === 'rgb') {
      for (let x = 0, p = o; x < width; x++, p += 3) {
        out[p] = c0[o0 + x];
        out[p + 1] = c1[o1 + x];
        out[p + 2] = c2[o2 + x];
      }
      continue;
    }
    yccRowToRgb(c0, o0, c1, o1, c2, o2, out, o, width);
  }
  return out;
}

/** jdcolor.c ycc_rgb_convert for one row (kept separate and small so the JIT optimises the hot loop on its own). */
function yccRowToRgb(
  y: Uint8Array,
  yo: number,
  cbRow: Uint8Array,
  cbo: number,
  crRow: Uint8Array,
  cro: number,
  out: Uint8Array,
  o: number,
  width: number,
): void {
  for (let x = 0; x < width; x++, o += 3) {
    const yy = y[yo + x] + CLAMP_OFF;
    const cb = cbRow[cbo + x];
    const cr = crRow[cro + x];
    out[o] = CLAMP[yy + CR_R[cr]];
    out[o + 1] = CLAMP[yy + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS)];
    out[o + 2] = CLAMP[yy + CB_B[cb]];
  }
}

/**
 * A four-component JPEG as PIL 9.4 delivers it from convert('RGB'): libjpeg outputs CMYK (YCCK first through
 * jdcolor.c ycck_cmyk_convert, i.e. C = 255 - R of the YCbCr->RGB conversion, K unchanged), PIL always reads it as
 * Adobe-style inverted CMYK (rawmode "CMYK;I", whatever the markers say), and Convert.c cmyk2rgb makes
 * R = K' - K' * C' / 255 with K' = 255 - inverted K, rounded by MULDIV255.
 */
function cmykRowToRgb(
  ycck: boolean,
  rows: Uint8Array[],
  offs: number[],
  out: Uint8Array,
  o: number,
  width: number,
): void {
  const [r0, r1, r2, r3] = rows;
  const [o0, o1, o2, o3] = offs;
  const mulDiv255 = (a: number, b: number): number => {
    const t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (let x = 0; x < width; x++, o += 3) {
    // The inverted C, M, Y samples PIL works with (for YCCK: the RGB values themselves).
    let c: number;
    let m: number;
    let yy: number;
    if (ycck) {
      const y = r0[o0 + x] + CLAMP_OFF;
      const cb = r1[o1 + x];
      const cr = r2[o2 + x];
      c = CLAMP[y + CR_R[cr]];
      m = CLAMP[y + ((CB_G[cb] + CR_G[cr]) >> SCALEBITS)];
      yy = CLAMP[y + CB_B[cb]];
    } else {
      c = 255 - r0[o0 + x];
      m = 255 - r1[o1 + x];
      yy = 255 - r2[o2 + x];
    }
    const nk = r3[o3 + x];
    out[o] = Math.max(0, nk - mulDiv255(c, nk));
    out[o + 1] = Math.max(0, nk - mulDiv255(m, nk));
    out[o + 2] = Math.max(0, nk - mulDiv255(yy, nk));
  }
}
