// conv2d on the CPU as im2col + gemm: each (image, group) unfolds its receptive fields into a matrix whose
// columns are output pixels, so the convolution becomes one matrix product with the weight rows.
// The input gradient is the transpose of that product folded back (col2im); the weight gradient is the
// output gradient times the unfolded input, transposed.
import type { Conv2dParams } from '../../core/backend';
import type { TypedArray } from '../../core/dtype';
import { arrayFor } from '../../core/dtype';
import { convOutputSize } from '../../core/shape';
import { gemm } from './gemm';
import type { CpuEpilogue } from './epilogue';
import { applyEpilogue } from './epilogue';


interface Geometry {
  N: number; C: number; H: number; W: number; O: number; Cg: number; Og: number; kh: number; kw: number;
  Ho: number; Wo: number; K: number; P: number;
}

function geometry(xShape: readonly number[], wShape: readonly number[], p: Conv2dParams): Geometry {
  const [N, C, H, W] = xShape;
  const [O, Cg, kh, kw] = wShape;
  const Ho = convOutputSize(H, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = convOutputSize(W, kw, p.stride[1], p.padding[1], p.dilation[1]);
  return { N, C, H, W, O, Cg, Og: O / p.groups, kh, kw, Ho, Wo, K: Cg * kh * kw, P: Ho * Wo };
}

function isPointwise(g: Geometry, p: Conv2dParams): boolean {
  return g.kh === 1 && g.kw === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.padding[0] === 0 && p.padding[1] === 0;
}

/** cols[k][p] (transposed: cols[p][k]) for one image and group. */
function im2col(x: TypedArray, xOff: number, g: Geometry, p: Conv2dParams, cols: TypedArray, transposed: boolean): void {
  const { H, W, kh, kw, Ho, Wo, K, P } = g;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  for (let c = 0; c < g.Cg; c++) {
    const plane = xOff + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const k = (c * kh + i) * kw + j;
        for (let oh = 0; oh < Ho; oh++) {
          const ih = oh * sh - ph + i * dh;
          const rowOk = ih >= 0 && ih < H;
          for (let ow = 0; ow < Wo; ow++) {
            const iw = ow * sw - pw + j * dw;
            const v = rowOk && iw >= 0 && iw < W ? x[plane + ih * W + iw] : 0;
            const pIdx = oh * Wo + ow;
            if (transposed) cols[pIdx * K + k] = v;
            else cols[k * P + pIdx] = v;
          }
        }
      }
    }
  }
}

/** The optional epilogue (bias by output channel, activation) runs on each block right after its gemm. */
export function conv2dForward(x: TypedArray, xShape: readonly number[], w: TypedArray, wShape: readonly number[], p: Conv2dParams, epilogue: CpuEpilogue | null = null): TypedArray {
  const g = geometry(xShape, wShape, p);
  const out = arrayFor(x instanceof Float64Array ? 'float64' : 'float32', g.N * g.O * g.P);
  const pointwise = isPointwise(g, p);
  const cols = pointwise ? null : arrayFor(x instanceof Float64Array ? 'float64' : 'float32', g.K * g.P);
  for (let n = 0; n < g.N; n++) {
    for (let grp = 0; grp < p.groups; grp++) {
      const xOff = (n * g.C + grp * g.Cg) * g.H * g.W;
      const outOff = (n * g.O + grp * g.Og) * g.P;
      const wOff = grp * g.Og * g.K;
      if (cols) {
        im2col(x, xOff, g, p, cols, false);
        gemm(g.Og, g.P, g.K, w, wOff, cols, 0, out, outOff);
      } else {
        gemm(g.Og, g.P, g.K, w, wOff, x, xOff, out, outOff);
      }
      // fused epilogue (saves a pass over the output): rows of this block are channels grp·Og ..
      if (epilogue) applyEpilogue(epilogue, out, outOff, g.Og, g.P, 'row', grp * g.Og);
    }
  }
  return out;
}

export function conv2dBackwardInput(gy: TypedArray, gyShape: readonly number[], w: TypedArray, wShape: readonly number[], p: Conv2dParams, inputShape: readonly number[]): TypedArray {
  const g = geometry(inputShape, wShape, p);
  if (g.Ho !== gyShape[2] || g.Wo !== gyShape[3]) throw new Error('conv2dBackwardInput: gradient shape does not match the convolution');
  const f64 = gy instanceof Float64Array;
  const gx = arrayFor(f64 ? 'float64' : 'float32', g.N * g.C * g.H * g.W);
  const wT = arrayFor(f64 ? 'float64' : 'float32', g.K * g.Og);
  const cols = arrayFor(f64 ? 'float64' : 'float32', g.K * g.P);
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  const [dh, dw] = p.dilation;
  for (let grp = 0; grp < p.groups; grp++) {
    const wOff = grp * g.Og * g.K;
    for (let o = 0; o < g.Og; o++) for (let k = 0; k < g.K; k++) wT[k * g.Og + o] = w[wOff + o * g.K + k];
    for (let n = 0; n < g.N; n++) {
      const gyOff = (n * g.O + grp * g.Og) * g.P;
      gemm(g.K, g.P, g.Og, wT, 0, gy, gyOff, cols, 0);
      // col2im: add every column entry back to the input pixel it was read from
      const xOff = (n * g.C + grp * g.Cg) * g.H * g.W;
      for (let c = 0; c < g.Cg; c++) {
        const plane = xOff + c * g.H * g.W;
        for (let i = 0; i < g.kh; i++) {
          for (let j = 0; j < g.kw; j++) {
            const rowBase = ((c * g.kh + i) * g.kw + j) * g.P;
            for (let oh = 0; oh < g.Ho; oh++) {
              const ih = oh * sh - ph + i * dh;
              if (ih < 0 || ih >= g.H) continue;
              for (let ow = 0; ow < g.Wo; ow++) {
                const iw = ow * sw - pw + j * dw;
                if (iw < 0 || iw >= g.W) continue;
                gx[plane + ih * g.W + iw] += cols[rowBase + oh * g.Wo + ow];
              }
            }
          }
        }
      }
    }
  }
  return gx;
}

export function conv2dBackwardWeight(x: TypedArray, xShape: readonly number[], gy: TypedArray, gyShape: readonly number[], p: Conv2dParams, wShape: readonly number[]): TypedArray {
  const g = geometry(xShape, wShape, p);
  if (g.Ho !== gyShape[2] || g.Wo !== gyShape[3]) throw new Error('conv2dBackwardWeight: gradient shape does not match the convolution');
  const f64 = x instanceof Float64Array;
  const gw = arrayFor(f64 ? 'float64' : 'float32', g.O * g.K);
  const colsT = arrayFor(f64 ? 'float64' : 'float32', g.P * g.K);
  const tmp = arrayFor(f64 ? 'float64' : 'float32', g.Og * g.K);
  for (let n = 0; n < g.N; n++) {
    for (let grp = 0; grp < p.groups; grp++) {
      const xOff = (n * g.C + grp * g.Cg) * g.H * g.W;
      im2col(x, xOff, g, p, colsT, true);
      const gyOff = (n * g.O + grp * g.Og) * g.P;
      gemm(g.Og, g.K, g.P, gy, gyOff, colsT, 0, tmp, 0);
      const wOff = grp * g.Og * g.K;
      for (let i = 0; i < tmp.length; i++) gw[wOff + i] += tmp[i];
    }
  }
  return gw;
}
