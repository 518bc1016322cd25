// Max pooling with torch's conventions: padding counts as -inf, indices are flat positions h*W+w in the
// input plane, the first maximum in scan order wins; a NaN always takes over (so the last NaN wins), as
// torch's CPU kernel does.
// A dilated window can miss the input entirely; it gives -inf (as torch) and index -1 (torch reports a
// position outside the plane), which the backward skips.
import type { Pool2dParams } from '../../core/backend';
import type { TypedArray } from '../../core/dtype';
import { arrayFor } from '../../core/dtype';
import { poolOutputSize } from '../../core/shape';

/** Output size of a pooling window along one axis, torch's formula including ceil_mode's last-window rule. */

export function maxPool2dForward(x: TypedArray, shape: readonly number[], p: Pool2dParams): { values: TypedArray; indices: Int32Array } {
  const [N, C, H, W] = shape;
  const [kh, kw] = p.kernelSize;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  const Ho = poolOutputSize(H, kh, sh, ph, dh, p.ceilMode);
  const Wo = poolOutputSize(W, kw, sw, pw, dw, p.ceilMode);
  const values = arrayFor(x instanceof Float64Array ? 'float64' : 'float32', N * C * Ho * Wo);
  const indices = new Int32Array(N * C * Ho * Wo);
  let o = 0;
  for (let nc = 0; nc < N * C; nc++) {
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
  return { values, indices };
}

export function maxPool2dBackward(gy: TypedArray, gyShape: readonly number[], indices: Int32Array, inputShape: readonly number[]): TypedArray {
  const [N, C, H, W] = inputShape;
  const P = gyShape[2] * gyShape[3];
  const gx = arrayFor(gy instanceof Float64Array ? 'float64' : 'float32', N * C * H * W);
  for (let nc = 0; nc < N * C; nc++) {
    for (let q = 0; q < P; q++) {
      const i = indices[nc * P + q];
      if (i >= 0) gx[nc * H * W + i] += gy[nc * P + q];
    }
  }
  return gx;
}
