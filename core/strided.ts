// Walking a strided view held in a flat typed array (host memory: the cpu backend's arrays, the wasm heap):
// an odometer over the shape, last axis fastest. Backend-neutral index arithmetic, shared by the backends
// whose storages the host can read, so none of them imports another.
import type { TypedArray } from './dtype';
import { numel } from './shape';

/** Calls fn(index into the array, row-major position) for every element of the view starting at `offset`. */
export function forEachOffset(shape: readonly number[], strides: readonly number[], offset: number, fn: (off: number, i: number) => void): void {
  const rank = shape.length;
  if (numel(shape) === 0) return;
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

/** Copies the view's elements into `out` in row-major order (the odometer with no callback in the loop). */
export function gatherStrided(src: TypedArray, shape: readonly number[], strides: readonly number[], offset: number, out: TypedArray): void {
  const rank = shape.length;
  if (out.length === 0) return;
  if (rank === 0) {
    out[0] = src[offset];
    return;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = rank - 1;
  const lastLen = shape[last];
  const lastStride = strides[last];
  let base = offset;
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
