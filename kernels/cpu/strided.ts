// Reading strided views on the CPU: most kernels first make their inputs contiguous, which keeps the
// arithmetic loops simple; the copy is O(n) next to the work of any kernel that cares.
import type { View } from '../../core/backend';
import type { TypedArray } from '../../core/dtype';
import { arrayFor } from '../../core/dtype';
import { isContiguous, numel } from '../../core/shape';
import { gatherStrided } from '../../core/strided';
import type { CpuStorage } from './storage';

export { forEachOffset } from '../../core/strided';

export function dataOf(view: View): TypedArray {
  return (view.storage as CpuStorage).data;
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
  gatherStrided(src, view.shape, view.strides, view.offset, out);
  return out;
}
