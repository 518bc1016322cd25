// Max pooling (the loops are core/scalar-loops.ts, shared with the wasm backend) with torch's conventions: padding counts as -inf, indices are flat positions h*W+w in the
// input plane, the first maximum in scan order wins; a NaN always takes over (so the last NaN wins), as
// torch's CPU kernel does.
// A dilated window can miss the input entirely; it gives -inf (as torch) and index -1 (torch reports a
// position outside the plane), which the backward skips.
import type { Pool2dParams } from '../../core/backend';
import type { TypedArray } from '../../core/dtype';
import { arrayFor } from '../../core/dtype';
import { poolOutputSize } from '../../core/shape';
import { maxPool2dBackwardPlanes, maxPool2dPlanes } from '../../core/scalar-loops';

export function maxPool2dForward(x: TypedArray, shape: readonly number[], p: Pool2dParams): { values: TypedArray; indices: Int32Array } {
  const [N, C, H, W] = shape;
  const Ho = poolOutputSize(H, p.kernelSize[0], p.stride[0], p.padding[0], p.dilation[0], p.ceilMode);
  const Wo = poolOutputSize(W, p.kernelSize[1], p.stride[1], p.padding[1], p.dilation[1], p.ceilMode);
  const values = arrayFor(x instanceof Float64Array ? 'float64' : 'float32', N * C * Ho * Wo);
  const indices = new Int32Array(N * C * Ho * Wo);
  maxPool2dPlanes(x, N * C, H, W, Ho, Wo, p, values, indices);
  return { values, indices };
}

export function maxPool2dBackward(gy: TypedArray, gyShape: readonly number[], indices: Int32Array, inputShape: readonly number[]): TypedArray {
  const [N, C, H, W] = inputShape;
  const gx = arrayFor(gy instanceof Float64Array ? 'float64' : 'float32', N * C * H * W);
  maxPool2dBackwardPlanes(gy, indices, N * C, gyShape[2] * gyShape[3], H * W, gx);
  return gx;
}
