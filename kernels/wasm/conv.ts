// conv2d and its two gradients on the wasm backend, float32: each (image, group) is one GEMM (gemm.ts) on
// an explicitly unfolded input (im2col, K = C/groups·kh·kw rows × P = Ho·Wo columns), except pointwise
// convolutions (1×1, stride 1, no padding), whose input already is that matrix.
//   forward:         out[Og×P]  = W[Og×K] · cols[K×P]          epilogue: bias by row (channel), relu in-kernel
//   input gradient:  cols[K×P]  = Wᵀ[K×Og] · gy[Og×P], then col2im adds each column entry back to its pixel
//   weight gradient: gW[Og×K] += gy[Og×P] · colsᵀ[P×K]        accumulated over the batch inside the GEMM
// Transposes are free: the GEMM takes element strides for both operands.
// The backend runs im2col/col2im as wasm functions (conv-kernel.ts); the TypeScript loops below are their
// readable form (the same order of visits), no longer called by the backend.
import type { Conv2dParams } from '../../core/backend';
import { convOutputSize } from '../../core/shape';

export interface ConvGeometry {
  N: number; C: number; H: number; W: number; O: number; Cg: number; Og: number; kh: number; kw: number;
  Ho: number; Wo: number; K: number; P: number;
}

export function convGeometry(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): ConvGeometry {
  const [N, C, H, W] = xShape;
  const [O, Cg, kh, kw] = wShape;
  const Ho = convOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = convOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]);
  return { N, C, H, W, O, Cg, Og: O / p.groups, kh, kw, Ho, Wo, K: Cg * kh * kw, P: Ho * Wo };
}

export function isPointwise(g: ConvGeometry, p: Conv2dParams): boolean {
  return g.kh === 1 && g.kw === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.padding[0] === 0 && p.padding[1] === 0;
}

/** cols[k·P + q] for the Cg channels of one image and group starting at x[xBase]. */
export function im2col(x: Float32Array, xBase: number, g: ConvGeometry, p: Conv2dParams, cols: Float32Array, colsBase: number): void {
  const { H, W, kh, kw, Ho, Wo, P } = g;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  for (let c = 0; c < g.Cg; c++) {
    const plane = xBase + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        let o = colsBase + ((c * kh + i) * kw + j) * P;
        for (let oh = 0; oh < Ho; oh++) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= H) {
            cols.fill(0, o, o + Wo);
            o += Wo;
            continue;
          }
          const row = plane + ih * W;
          for (let ow = 0, iw = j * dw - pw; ow < Wo; ow++, iw += sw) cols[o++] = iw >= 0 && iw < W ? x[row + iw] : 0;
        }
      }
    }
  }
}

/** The transpose of im2col: adds every cols entry into the input pixel it was read from. */
export function col2imAdd(cols: Float32Array, colsBase: number, g: ConvGeometry, p: Conv2dParams, gx: Float32Array, gxBase: number): void {
  const { H, W, kh, kw, Ho, Wo, P } = g;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  for (let c = 0; c < g.Cg; c++) {
    const plane = gxBase + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        let o = colsBase + ((c * kh + i) * kw + j) * P;
        for (let oh = 0; oh < Ho; oh++, o += Wo) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= H) continue;
          const row = plane + ih * W;
          for (let ow = 0, iw = j * dw - pw; ow < Wo; ow++, iw += sw) if (iw >= 0 && iw < W) gx[row + iw] += cols[o + ow];
        }
      }
    }
  }
}
