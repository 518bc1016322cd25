// Shared machinery of the NCHW spatial ops. Separable spatial maps: average pooling, adaptive pooling and every interpolation mode compute each
// output pixel as Σ_h Σ_w A[a,h] · x[h,w] · B[b,w] — one small matrix per axis, built on the host by the
// op that knows the window or kernel rule. Applying them as two matmuls (out = A · X · Bᵀ) means every
// backend runs them with its matmul kernel and the gradient (Aᵀ · G · B) comes from matmul's rule, exact
// by construction.
import type { DType } from '../dtype';
import { arrayFrom } from '../dtype';
import { Tensor } from '../tensor';
import { checkTensor, wrap } from './util';
import { matmul } from './matmul';
import { reshape, squeeze, transpose, unsqueeze } from './views';
import { fmtShape } from '../shape';
import { tidy } from '../scope';

/**
 * Runs an NCHW op on a 4-D input, or on a 3-D unbatched [C, H, W] one (as torch allows) by adding and
 * then removing a batch dimension of 1.
 */
export function withBatchDim<T extends Tensor | { values: Tensor; indices: Tensor }>(x: Tensor, op: string, allow3d: boolean, fn: (x4: Tensor) => T): T {
  checkTensor(x, op, 'input');
  // tidy frees the op's intermediates (views, weight matrices, partial products) at once — what autograd
  // still needs stays alive through its saved-tensor references.
  if (x.rank === 4) return tidy(() => fn(x));
  if (allow3d && x.rank === 3) {
    return tidy(() => {
      const r = fn(unsqueeze(x, 0));
      if (r instanceof Tensor) return squeeze(r, 0) as T;
      return { values: squeeze(r.values, 0), indices: squeeze(r.indices, 0) } as T;
    });
  }
  const want = allow3d ? '3-D [C, H, W] (unbatched) or 4-D [N, C, H, W]' : '4-D [N, C, H, W]';
  throw new Error(`${op}: input must be ${want}, got shape ${fmtShape(x.shape)}`);
}

/** A linear map along one axis: out[o] = Σ_i weights[o * inSize + i] · in[i] (row-major [outSize, inSize]). */
export interface AxisMap {
  readonly outSize: number;
  readonly inSize: number;
  readonly weights: Float64Array;
}

export function zeroAxisMap(outSize: number, inSize: number): { outSize: number; inSize: number; weights: Float64Array } {
  return { outSize, inSize, weights: new Float64Array(outSize * inSize) };
}

function isIdentity(m: AxisMap): boolean {
  if (m.outSize !== m.inSize) return false;
  for (let o = 0; o < m.outSize; o++) {
    for (let i = 0; i < m.inSize; i++) if (m.weights[o * m.inSize + i] !== (o === i ? 1 : 0)) return false;
  }
  return true;
}

function mapTensor(m: AxisMap, like: Tensor, dtype: DType): Tensor {
  return wrap(like.backend.upload(arrayFrom(dtype, m.weights)), [m.outSize, m.inSize], dtype);
}

/**
 * y[n, c, a, b] = Σ_h Σ_w rows[a, h] · x[n, c, h, w] · cols[b, w] for x [N, C, H, W]. The width map runs
 * first (as torch's separable kernels do); an identity map is skipped, so a copy axis costs nothing.
 */
export function applySeparable2d(x: Tensor, rows: AxisMap, cols: AxisMap, op: string): Tensor {
  checkTensor(x, op, 'input');
  const [N, C, H, W] = x.shape;
  if (rows.inSize !== H || cols.inSize !== W) {
    throw new Error(`${op}: internal error: axis maps [${rows.outSize}, ${rows.inSize}] and [${cols.outSize}, ${cols.inSize}] do not fit input [${x.shape.join(', ')}]`);
  }
  return tidy(() => {
    let y = x;
    if (!isIdentity(cols)) {
      const B = mapTensor(cols, x, x.dtype);
      y = reshape(matmul(reshape(y, [N * C * H, W]), transpose(B, 0, 1)), [N, C, H, cols.outSize]);
    }
    if (!isIdentity(rows)) {
      const A = mapTensor(rows, x, x.dtype);
      y = reshape(matmul(A, reshape(y, [N * C, H, cols.outSize])), [N, C, rows.outSize, cols.outSize]);
    }
    // Both maps identity: still hand back a new view, so disposing the result never frees the input.
    return y === x ? reshape(x, x.shape) : y;
  });
}
