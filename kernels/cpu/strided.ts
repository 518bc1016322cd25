// Reading strided views on the CPU: most kernels first make their inputs contiguous, which keeps the
// arithmetic loops simple; the copy is O(n) next to the work of any kernel that cares.
import type { View } from '../../core/backend';
import type { TypedArray } from '../../core/dtype';
import { arrayFor } from '../../core/dtype';
import { isContiguous, numel } from '../../core/shape';
import type { CpuStorage } from './storage';

export function dataOf(view: View): TypedArray {
  return (view.storage as CpuStorage).data;
}

/** Row-major element offsets of a view, visited by an odometer over the shape (last axis fastest). */
export function forEachOffset(shape: readonly number[], strides: readonly number[], offset: number, fn: (off: number, i: number) => void): void {
  const rank = shape.length;
  const n = numel(shape);
  if (n === 0) return;
  if (rank === 0) {
    fn(offset, 0);
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastLen = shape[last];
  const lastStride = strides[last];
  let base = offset;
  let i = 0;
  for (;;) {
    for (let j = 0, off = base; j < lastLen; j++, off += lastStride) fn(off, i++);
    // advance the odometer over the outer axes
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

/** The view's elements as a contiguous array (the storage itself when already contiguous and whole). */
export function contiguousData(view: View): TypedArray {
  const src = dataOf(view);
  const n = numel(view.shape);
  if (isContiguous(view.shape, view.strides)) {
    if (view.offset === 0 && src.length === n) return src;
    return src.subarray(view.offset, view.offset + n);
  }
  const out = arrayFor(view.dtype, n);
  copyStrided(src, view.shape, view.strides, view.offset, out);
  return out;
}

function copyStrided(src: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, out: TypedArray): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = src[offset];
    return;
  }
  // Specialised odometer: inner loop over the last axis without a callback.
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastLen = shape[last];
  const lastStride = strides[last];
  let base = offset;
  let o = 0;
  const n = out.length;
  if (n === 0) return;
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
