// Reading and writing strided views whose elements sit in one big typed array (the wasm heap's f32/i32/f64
// view) starting at element `base`: the odometer walk every scalar path uses.
import type { TypedArray } from '../../core/dtype';
import { numel } from '../../core/shape';

/** Calls fn(index into arr, row-major position) for every element of the view. */
export function forEachOffset(shape: readonly number[], strides: readonly number[], base: number, fn: (off: number, i: number) => void): void {
  const rank = shape.length;
  if (numel(shape) === 0) return;
  if (rank === 0) {
    fn(base, 0);
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastLen = shape[last];
  const lastStride = strides[last];
  let i = 0;
  for (;;) {
    for (let j = 0, off = base; j < lastLen; j++, off += lastStride) fn(off, i++);
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

/** Copies the view's elements into `out` in row-major order. */
export function gatherStrided(src: TypedArray, shape: readonly number[], strides: readonly number[], base: number, out: TypedArray): void {
  const rank = shape.length;
  if (out.length === 0) return;
  if (rank === 0) {
    out[0] = src[base];
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastLen = shape[last];
  const lastStride = strides[last];
  let o = 0;
  for (;;) {
    for (let j = 0, off = base; j < lastLen; j++, off += lastStride) out[o++] = src[off];
    let d = last - 1;
    for (; d >= 0; d--) {
      idx[d]++;
      base += strides[d];
      if (idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}
