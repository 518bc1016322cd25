// Reference loops over flat typed arrays with torch's semantics, shared by the backends that compute in
// JavaScript on host memory (the cpu backend, and the wasm backend's scalar paths for dtypes and ops it has no
// SIMD kernel for), so both agree exactly and neither imports the other. Like scalar-math.ts, these are the
// definitions the WGSL and SIMD kernels are tested against.
import type { Pool2dParams, ReduceOp } from './backend';
import type { TypedArray } from './dtype';

/** Reduces each of `outer` contiguous rows of `inner` values into out[row]; max/min propagate NaN as torch. */
export function reduceRows(op: ReduceOp, data: ArrayLike<number>, outer: number, inner: number, out: TypedArray): void {
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    let acc: number;
    if (op === 'sum') {
      acc = 0;
      for (let i = 0; i < inner; i++) acc += data[base + i];
    } else if (op === 'prod') {
      acc = 1;
      for (let i = 0; i < inner; i++) acc *= data[base + i];
    } else if (op === 'max') {
      acc = -Infinity;
      for (let i = 0; i < inner; i++) {
        const v = data[base + i];
        if (v > acc || v !== v) acc = v;
        if (acc !== acc) break;
      }
    } else {
      acc = Infinity;
      for (let i = 0; i < inner; i++) {
        const v = data[base + i];
        if (v < acc || v !== v) acc = v;
        if (acc !== acc) break;
      }
    }
    out[o] = acc;
  }
}

/** Index of the first max/min of each contiguous row (a NaN counts as the extreme, as torch). */
export function argReduceRows(op: 'argmax' | 'argmin', data: ArrayLike<number>, outer: number, inner: number, out: Int32Array): void {
  const isMax = op === 'argmax';
  for (let o = 0; o < outer; o++) {
    const base = o * inner;
    let best = data[base];
    let bi = 0;
    for (let i = 1; i < inner && best === best; i++) {
      const v = data[base + i];
      if (v !== v || (isMax ? v > best : v < best)) {
        best = v;
        bi = i;
      }
    }
    out[o] = bi;
  }
}

/**
 * Max pooling of N·C contiguous H×W planes into Ho×Wo planes, with torch's rules: padding is −inf, the first
 * maximum wins, a NaN takes over, and a window that misses the input gives −inf with index −1. Indices are
 * flat h·W + w within each input plane.
 */
export function maxPool2dPlanes(x: ArrayLike<number>, planes: number, H: number, W: number, Ho: number, Wo: number, p: Pool2dParams, values: TypedArray, indices: Int32Array): void {
  const [kh, kw] = p.kernelSize;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  let o = 0;
  for (let nc = 0; nc < planes; nc++) {
    const plane = nc * H * W;
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++, o++) {
        let best = -Infinity;
        let bi = -1;
        for (let i = 0; i < kh; i++) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= H) continue;
          for (let j = 0; j < kw; j++) {
            const iw = ow * sw - pw + j * dw;
            if (iw < 0 || iw >= W) continue;
            const v = x[plane + ih * W + iw];
            if (bi < 0 || v > best || v !== v) {
              best = v;
              bi = ih * W + iw;
            }
          }
        }
        values[o] = best;
        indices[o] = bi;
      }
    }
  }
}

/** Adds each gradient of a pooled plane (P values) to the input position its index recorded; gx starts at 0. */
export function maxPool2dBackwardPlanes(gy: ArrayLike<number>, indices: ArrayLike<number>, planes: number, P: number, HW: number, gx: TypedArray): void {
  for (let nc = 0; nc < planes; nc++) {
    for (let q = 0; q < P; q++) {
      const i = indices[nc * P + q];
      if (i >= 0) gx[nc * HW + i] += gy[nc * P + q];
    }
  }
}
