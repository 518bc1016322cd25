/**
 * The two resizes the CAM pipeline needs, reproducing the reference libraries bit for bit:
 *
 *   resizeBicubicPil   PIL 9.4 `Image.resize((w, h), Image.BICUBIC)` on 8-bit RGB, used by Finer-CAM's
 *                      preprocessing (and torchvision's Resize on PIL images).
 *   resizeBilinearCv   OpenCV 4.6 `cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)`, used by pytorch-grad-cam
 *                      and Finer-CAM to bring CAMs to image size (float32), plus OpenCV's 8-bit fixed-point variant.
 */
import { keysCubic } from '../core/keys-cubic';
import { assertRgbImage, type RgbImage } from './types';

function checkSize(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer (got ${value})`);
}

// ------------------------------------------------------------------------------------------------------------------
// PIL bicubic (libImaging/Resample.c)

/** PIL's fixed-point precision for 8-bit images: 32 - 8 (sample bits) - 2 (headroom for negative lobes). */
const PRECISION_BITS = 32 - 8 - 2;

/** Keys' cubic convolution kernel with a = -0.5, support 2 (Resample.c bicubic_filter). */
function bicubicFilter(x: number): number {
  return keysCubic(x, -0.5);
}

interface Coeffs {
  /** Taps per output sample (the stride of `k`). */
  ksize: number;
  /** First input index and number of taps, per output sample. */
  bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output sample. */
  k: Int32Array;
}

/**
 * Resample.c precompute_coeffs + normalize_coeffs_8bpc. When shrinking, the kernel is stretched by the scale so every
 * input pixel contributes (antialiasing). Weights are computed in double, normalised to sum 1, then rounded to
 * PRECISION_BITS fixed point (half away from zero).
 */
function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C casts (int) truncate toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubicFilter((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = xmax;
  }
  return { ksize, bounds, k };
}

/** Resample.c clip8: the rounded fixed-point sum back to a byte, saturating. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes an RGB image like PIL's `Image.resize((width, height), Image.BICUBIC)`: a horizontal pass (only over the
 * input rows the vertical pass will read) into an 8-bit intermediate image, then a vertical pass; a pass whose size
 * does not change is skipped, and equal sizes return a copy, as PIL does.
 */
export function resizeBicubicPil(img: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage(img, 'img');
  checkSize(width, 'width');
  checkSize(height, 'height');
  const inW = img.width;
  const inH = img.height;
  if (width === inW && height === inH) return { width, height, data: img.data.slice() };

  const horiz = precomputeCoeffs(inW, width);
  const vert = precomputeCoeffs(inH, height);
  const half = 1 << (PRECISION_BITS - 1);

  let src = img.data;
  let srcW = inW;
  let rowOffset = 0; // first input row held by `src`
  if (width !== inW) {
    // Only rows [first, last) feed the vertical pass.
    const first = vert.bounds[0];
    const last = vert.bounds[2 * height - 2] + vert.bounds[2 * height - 1];
    const rows = height !== inH ? last - first : inH;
    const y0 = height !== inH ? first : 0;
    const tmp = new Uint8Array(width * rows * 3);
    const { ksize, bounds, k } = horiz;
    for (let y = 0; y < rows; y++) {
      const inRow = (y + y0) * inW * 3;
      const outRow = y * width * 3;
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[2 * xx];
        const n = bounds[2 * xx + 1];
        const kb = xx * ksize;
        let s0 = half;
        let s1 = half;
        let s2 = half;
        for (let x = 0, p = inRow + xmin * 3; x < n; x++, p += 3) {
          const c = k[kb + x];
          s0 += src[p] * c;
          s1 += src[p + 1] * c;
          s2 += src[p + 2] * c;
        }
        const o = outRow + xx * 3;
        tmp[o] = clip8(s0);
        tmp[o + 1] = clip8(s1);
        tmp[o + 2] = clip8(s2);
      }
    }
    src = tmp;
    srcW = width;
    rowOffset = y0;
  }
  if (height === inH) return { width, height, data: src };

  const out = new Uint8Array(width * height * 3);
  const { ksize, bounds, k } = vert;
  const stride = srcW * 3;
  for (let yy = 0; yy < height; yy++) {
    const ymin = bounds[2 * yy] - rowOffset;
    const n = bounds[2 * yy + 1];
    const kb = yy * ksize;
    const outRow = yy * width * 3;
    for (let i = 0; i < width * 3; i++) {
      let s = half;
      for (let y = 0, p = ymin * stride + i; y < n; y++, p += stride) s += src[p] * k[kb + y];
      out[outRow + i] = clip8(s);
    }
  }
  return { width, height, data: out };
}

// ------------------------------------------------------------------------------------------------------------------
// OpenCV INTER_LINEAR (imgproc/src/resize.cpp, resizeGeneric_ with HResizeLinear / VResizeLinear)

/** OpenCV's fixed-point scale for 8-bit interpolation weights (INTER_RESIZE_COEF_BITS = 11). */
const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;
const f32 = Math.fround;

/** cvRound / saturate_cast<short>(float): round half to even (SSE2 cvtss2si in the default rounding mode). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

interface LinearTaps {
  /** Left/top source index (already clamped) and the two weights, per output index. */
  ofs: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
  /** Horizontal only: outputs from this index on use one tap (the right edge). */
  xmax: number;
}

/**
 * Source positions and weights for one axis. Half-pixel centres: src = (dst + 0.5) * scale - 0.5, computed in double
 * and rounded to float as OpenCV does. Horizontally, positions left of the first or right of the last pixel are clamped
 * to it with weight 1 (HResizeLinear); vertically OpenCV clamps only the row indices, keeping the unclamped weights.
 */
function linearTaps(inSize: number, outSize: number, horizontal: boolean): LinearTaps {
  const scale = 1 / (outSize / inSize); // OpenCV: scale_x = 1. / inv_scale_x
  const ofs = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  let xmax = outSize;
  for (let d = 0; d < outSize; d++) {
    let f = f32((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = f32(f - s);
    if (horizontal) {
      if (s < 0) {
        f = 0;
        s = 0;
      }
      if (s + 1 >= inSize) {
        xmax = Math.min(xmax, d);
        if (s >= inSize - 1) {
          f = 0;
          s = inSize - 1;
        }
      }
    }
    ofs[d] = s;
    w0[d] = f32(1 - f);
    w1[d] = f;
  }
  return { ofs, w0, w1, xmax };
}

const clampIndex = (i: number, n: number): number => (i < 0 ? 0 : i >= n ? n - 1 : i);

/**
 * Resizes an interleaved `srcW` x `srcH` x `channels` array like
 * `cv2.resize(src, (dstW, dstH), interpolation=cv2.INTER_LINEAR)` (OpenCV 4.6, x86 SSE2 baseline build).
 *
 * Float32 input: bilinear interpolation with half-pixel centres and edge clamping, no antialiasing, evaluated with
 * the same float32 operations in the same order as OpenCV (horizontal pass, then vertical), so results are
 * bit-identical. Uint8 input: OpenCV's fixed-point path (11-bit weights) with the rounding of its vectorised
 * vertical pass; also bit-identical.
 * Exact 2x downscaling in both directions is routed, as OpenCV routes it, through INTER_AREA's fast 2x2 average.
 */
export function resizeBilinearCv(
  src: Float32Array,
  srcW: number,
  srcH: number,
  channels: number,
  dstW: number,
  dstH: number,
): Float32Array;
export function resizeBilinearCv(
  src: Uint8Array,
  srcW: number,
  srcH: number,
  channels: number,
  dstW: number,
  dstH: number,
): Uint8Array;
export function resizeBilinearCv(
  src: Float32Array | Uint8Array,
  srcW: number,
  srcH: number,
  channels: number,
  dstW: number,
  dstH: number,
): Float32Array | Uint8Array {
  if (!(src instanceof Float32Array) && !(src instanceof Uint8Array)) {
    throw new TypeError('src must be a Float32Array or a Uint8Array');
  }
  checkSize(srcW, 'srcW');
  checkSize(srcH, 'srcH');
  checkSize(channels, 'channels');
  checkSize(dstW, 'dstW');
  checkSize(dstH, 'dstH');
  if (src.length !== srcW * srcH * channels) {
    throw new RangeError(`src has ${src.length} elements, expected srcW*srcH*channels = ${srcW * srcH * channels}`);
  }
  if (dstW === srcW && dstH === srcH) return src.slice();
  if (dstW * 2 === srcW && dstH * 2 === srcH) return areaFast2x(src, srcW, channels, dstW, dstH);
  return src instanceof Float32Array
    ? linearF32(src, srcW, srcH, channels, dstW, dstH)
    : linearU8(src, srcW, srcH, channels, dstW, dstH);
}

function linearF32(src: Float32Array, srcW: number, srcH: number, cn: number, dstW: number, dstH: number): Float32Array {
  const hx = linearTaps(srcW, dstW, true);
  const vy = linearTaps(srcH, dstH, false);
  const rowLen = dstW * cn;
  const out = new Float32Array(dstW * dstH * cn);
  // Horizontally resized source rows, cached: consecutive output rows mostly share their two source rows.
  const rowA = new Float32Array(rowLen);
  const rowB = new Float32Array(rowLen);
  let cacheA = -1;
  let cacheB = -1;
  const hresize = (sy: number, dst: Float32Array): void => {
    const base = sy * srcW * cn;
    for (let dx = 0; dx < dstW; dx++) {
      const s = base + hx.ofs[dx] * cn;
      const a0 = hx.w0[dx];
      const a1 = hx.w1[dx];
      const o = dx * cn;
      if (dx < hx.xmax) {
        for (let c = 0; c < cn; c++) dst[o + c] = f32(f32(src[s + c] * a0) + f32(src[s + cn + c] * a1));
      } else {
        for (let c = 0; c < cn; c++) dst[o + c] = src[s + c];
      }
    }
  };
  for (let dy = 0; dy < dstH; dy++) {
    const sy0 = clampIndex(vy.ofs[dy], srcH);
    const sy1 = clampIndex(vy.ofs[dy] + 1, srcH);
    let r0: Float32Array;
    let r1: Float32Array;
    if (sy0 === cacheA) r0 = rowA;
    else if (sy0 === cacheB) r0 = rowB;
    else {
      // Overwrite the buffer not holding sy1.
      if (cacheB === sy1) {
        hresize(sy0, rowA);
        cacheA = sy0;
        r0 = rowA;
      } else {
        hresize(sy0, rowB);
        cacheB = sy0;
        r0 = rowB;
      }
    }
    if (sy1 === cacheA) r1 = rowA;
    else if (sy1 === cacheB) r1 = rowB;
    else if (r0 === rowA) {
      hresize(sy1, rowB);
      cacheB = sy1;
      r1 = rowB;
    } else {
      hresize(sy1, rowA);
      cacheA = sy1;
      r1 = rowA;
    }
    const b0 = vy.w0[dy];
    const b1 = vy.w1[dy];
    const o = dy * rowLen;
    for (let x = 0; x < rowLen; x++) out[o + x] = f32(f32(r0[x] * b0) + f32(r1[x] * b1));
  }
  return out;
}

function linearU8(src: Uint8Array, srcW: number, srcH: number, cn: number, dstW: number, dstH: number): Uint8Array {
  const hx = linearTaps(srcW, dstW, true);
  const vy = linearTaps(srcH, dstH, false);
  // saturate_cast<short>(weight * INTER_RESIZE_COEF_SCALE)
  const ia0 = Int32Array.from(hx.w0, (w) => roundHalfEven(w * COEF_SCALE));
  const ia1 = Int32Array.from(hx.w1, (w) => roundHalfEven(w * COEF_SCALE));
  const rowLen = dstW * cn;
  const out = new Uint8Array(dstW * dstH * cn);
  const hrow = (sy: number, dst: Int32Array): void => {
    const base = sy * srcW * cn;
    for (let dx = 0; dx < dstW; dx++) {
      const s = base + hx.ofs[dx] * cn;
      const o = dx * cn;
      if (dx < hx.xmax) {
        for (let c = 0; c < cn; c++) dst[o + c] = src[s + c] * ia0[dx] + src[s + cn + c] * ia1[dx];
      } else {
        for (let c = 0; c < cn; c++) dst[o + c] = src[s + c] * COEF_SCALE;
      }
    }
  };
  const r0 = new Int32Array(rowLen);
  const r1 = new Int32Array(rowLen);
  for (let dy = 0; dy < dstH; dy++) {
    hrow(clampIndex(vy.ofs[dy], srcH), r0);
    hrow(clampIndex(vy.ofs[dy] + 1, srcH), r1);
    const b0 = roundHalfEven(vy.w0[dy] * COEF_SCALE);
    const b1 = roundHalfEven(vy.w1[dy] * COEF_SCALE);
    const o = dy * rowLen;
    // The SSE2 kernel VResizeLinearVec_32s8u: ((S0 >> 4) * b0 >> 16) + ((S1 >> 4) * b1 >> 16) in 16-bit lanes, then a
    // rounding shift by 2 with unsigned saturation. It differs by one now and then from the scalar formula
    // (S0*b0 + S1*b1 + 2^21) >> 22 in OpenCV's source; cv2 4.6 (x86) gives the vector result for every element,
    // row tails included, as the fixtures show.
    for (let x = 0; x < rowLen; x++) {
      const v = (((r0[x] >> 4) * b0) >> 16) + (((r1[x] >> 4) * b1) >> 16);
      const u = (v + 2) >> 2;
      out[o + x] = u < 0 ? 0 : u > 255 ? 255 : u;
    }
  }
  return out;
}

/**
 * cv::resize turns INTER_LINEAR with an exact 2x reduction in both directions into INTER_AREA, whose fast path
 * averages 2x2 blocks. The summation order (and, for 8-bit, the rounding) depends on the channel count and on which
 * elements OpenCV's SSE2 loops cover; reproduced here so float results stay bit-identical.
 */
function areaFast2x(
  src: Float32Array | Uint8Array,
  srcW: number,
  cn: number,
  dstW: number,
  dstH: number,
): Float32Array | Uint8Array {
  const rowLen = dstW * cn;
  const srcRow = srcW * cn;
  if (src instanceof Uint8Array) {
    const out = new Uint8Array(rowLen * dstH);
    // ResizeAreaFastVec<uchar>: (a + b + c + d + 2) >> 2 for 1, 3 or 4 channels; other channel counts take the generic
    // path, saturate_cast<uchar>(sum * 0.25f), which rounds half to even.
    const fast = cn === 1 || cn === 3 || cn === 4;
    for (let dy = 0; dy < dstH; dy++) {
      const s0 = 2 * dy * srcRow;
      const s1 = s0 + srcRow;
      for (let x = 0; x < rowLen; x++) {
        const px = Math.floor(x / cn);
        const i = 2 * px * cn + (x - px * cn);
        const sum = src[s0 + i] + src[s0 + i + cn] + src[s1 + i] + src[s1 + i + cn];
        out[dy * rowLen + x] = fast ? (sum + 2) >> 2 : roundHalfEven(sum * 0.25);
      }
    }
    return out;
  }
  const out = new Float32Array(rowLen * dstH);
  const q = 0.25;
  // ResizeAreaFastVec_SIMD_32f: for 1 channel, 4 outputs per SSE2 step as ((a + b) + (c + d)) * 0.25 and a scalar tail;
  // for 4 channels, whole pixels the same way; otherwise the generic sum ((a + b) + c) + d.
  const vecEnd = cn === 1 ? rowLen & ~3 : cn === 4 ? rowLen : 0;
  for (let dy = 0; dy < dstH; dy++) {
    const s0 = 2 * dy * srcRow;
    const s1 = s0 + srcRow;
    for (let x = 0; x < rowLen; x++) {
      const px = Math.floor(x / cn);
      const i = 2 * px * cn + (x - px * cn);
      const a = src[s0 + i];
      const b = src[s0 + i + cn];
      const c = src[s1 + i];
      const d = src[s1 + i + cn];
      const sum = x < vecEnd ? f32(f32(a + b) + f32(c + d)) : f32(f32(f32(a + b) + c) + d);
      out[dy * rowLen + x] = f32(sum * q);
    }
  }
  return out;
}
