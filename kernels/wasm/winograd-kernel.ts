// Winograd F(2×2, 3×3) for the wasm backend's stride-1, dilation-1, ungrouped 3×3 convolutions (forward only;
// the gradients stay im2col + GEMM). Every 2×2 block ("tile") of the output is computed from the 4×4 block of
// the input under it as
//
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A          g: 3×3 kernel, d: 4×4 input, ⊙ elementwise over the 16 ξ
//
//   Bᵀ = | 1  0 −1  0 |      G = | 1    0    0  |      Aᵀ = | 1  1  1  0 |
//        | 0  1  1  0 |          | ½    ½    ½  |           | 0  1 −1 −1 |
//        | 0 −1  1  0 |          | ½   −½    ½  |
//        | 0  1  0 −1 |          | 0    0    1  |
//
// and the sum over input channels happens in the transformed domain, so a layer is 16 independent GEMMs
//   M[ξ] (O × T) = U[ξ] (O × C) · V[ξ] (C × T),   U[ξ] = (G g Gᵀ)[ξ] per (o, c),  V[ξ] = (Bᵀ d B)[ξ] per (c, tile)
// through the same packed GEMM (gemm-kernel.ts), 16 multiply-adds per 2×2 outputs instead of 36: 2.25× fewer
// (minus the transforms, and the padding of odd sizes to whole tiles: 7×7 is computed as 8×8).
//
// Layouts (floats): V[ξ][c][t] and M[ξ][o][t] with t = ty·tw + tx (tiles row-major, tw = ⌈Wo/2⌉ per row) and a
// leading dimension ld ≥ T + 3, because both transforms work on 4 consecutive tiles per v128 and the last group
// of a row may run up to 3 tiles past it (into the next tile row, which the same thread writes afterwards, or
// into the padding after the last row); those lanes are never stored to the output.
//
// wino_input — for each (channel, tile row): the 4 input rows under it are copied into a zero-padded row buffer
// (the padding becomes plain zeros, so no tile branches on edges), combined down the rows with Bᵀ (e0 = b0 − b2,
// e1 = b1 + b2, e2 = b2 − b1, e3 = b1 − b3) a v128 at a time along the row, and then across columns for 4 tiles
// at once: tile tx's columns are e[2tx + 0..3], so the even/odd lanes of two v128 loads (i8x16.shuffle) give
// each column of 4 consecutive tiles as one vector, and the 16 results are 16 v128 stores into V.
// wino_output — for 4 consecutive tiles of one output channel: 16 v128 loads from M, Aᵀ down and across (8 + 4
// adds pairs), bias and relu (the conv epilogue), then the two 2-wide output columns of the 4 tiles are
// interleaved (shuffle) into two rows of 8 outputs; a group reaching past the right edge goes through a
// scratch row and a clipped scalar copy.
//
// Measured per ResNet-50 layer with bench/wasm-conv-layers.mjs (the choice is WasmBackend's winogradPays).
import type { ModuleBuilder } from './builder/index';
import { BIAS_BY_ROW, RELU } from './gemm-kernel';

/** Floats of one padded row buffer of wino_input for tw tiles per row (8 of them in the thread's scratch). */
export function winoRowFloats(tw: number): number {
  return (2 * tw + 16 + 3) & ~3;
}

/**
 * U[ξ][o][c] = (G g Gᵀ)[ξ] for a weight w[O][C][3][3] (float32 values, computed in double and rounded once),
 * into u as 16 row-major O×C matrices. One-time per weight (the backend caches the packed result).
 */
export function winogradWeights(w: Float32Array, O: number, C: number, u: Float32Array): void {
  const OC = O * C;
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const g = (o * C + c) * 9;
      const base = o * C + c;
      // rows of t = G·g (4×3), then each row r of t·Gᵀ: [r0, ½(r0 + r1 + r2), ½(r0 − r1 + r2), r2]
      for (let i = 0; i < 4; i++) {
        // row i of G: (1, 0, 0), (½, ½, ½), (½, −½, ½), (0, 0, 1)
        let r0: number, r1: number, r2: number;
        if (i === 0) {
          r0 = w[g];
          r1 = w[g + 1];
          r2 = w[g + 2];
        } else if (i === 3) {
          r0 = w[g + 6];
          r1 = w[g + 7];
          r2 = w[g + 8];
        } else if (i === 1) {
          r0 = 0.5 * (w[g] + w[g + 3] + w[g + 6]);
          r1 = 0.5 * (w[g + 1] + w[g + 4] + w[g + 7]);
          r2 = 0.5 * (w[g + 2] + w[g + 5] + w[g + 8]);
        } else {
          r0 = 0.5 * (w[g] - w[g + 3] + w[g + 6]);
          r1 = 0.5 * (w[g + 1] - w[g + 4] + w[g + 7]);
          r2 = 0.5 * (w[g + 2] - w[g + 5] + w[g + 8]);
        }
        u[4 * i * OC + base] = r0;
        u[(4 * i + 1) * OC + base] = 0.5 * (r0 + r1 + r2);
        u[(4 * i + 2) * OC + base] = 0.5 * (r0 - r1 + r2);
        u[(4 * i + 3) * OC + base] = r2;
      }
    }
  }
}

export function addWinogradKernels(m: ModuleBuilder): void {
  // wino_input(x, v, C, H, W, ph, pw, th, tw, ldv, xis, wb, buf, pb, tile): channels [0, C) of x (planes of
  // H×W) into V (v at channel 0 of this slice, ldv floats per channel row, xis bytes between the ξ matrices);
  // wb floats per row buffer (winoRowFloats), buf = 8 row buffers of the thread's scratch.
  m.func('wino_input', {
    x: 'i32', v: 'i32', C: 'i32', H: 'i32', W: 'i32', ph: 'i32', pw: 'i32', th: 'i32', tw: 'i32', ldv: 'i32', xis: 'i32', wb: 'i32',
    buf: 'i32', pb: 'i32', tile: 'i32',
  }, [], (f) => {
    const [x, v, C, H, W, ph, pw, th, tw, ldv, xis, wb, buf] = f.params;
    const c = f.local('c', 'i32');
    const ty = f.local('ty', 'i32');
    const tx = f.local('tx', 'i32');
    const q = f.local('q', 'i32');
    const iy = f.local('iy', 'i32');
    const plane = f.local('plane', 'i32');
    const src = f.local('src', 'i32');
    const dst = f.local('dst', 'i32');
    const vend = f.local('vend', 'i32');
    const wbB = f.local('wbBytes', 'i32');
    const vrow = f.local('vrow', 'i32'); // V[0][c][0]
    const o = f.local('o', 'i32'); // V[0][c][ty·tw + tx]
    const ep = f.local('ep', 'i32');
    const rowB = f.local('rowBytes', 'i32');
    const e = [0, 1, 2, 3].map((i) => f.local(`E${i}`, 'v128'));
    const lo = f.local('lo', 'v128');
    const hi = f.local('hi', 'v128');
    const rowBuf = (r: number) => f.i32.add(buf, f.i32.mul(wbB, r));
    f.set(wbB, f.i32.shl(wb, 2));
    f.set(rowB, f.i32.shl(W, 2));
    f.set(vend, f.i32.and(rowB, -16));
    f.for_(c, 0, C, 1, () => {
      f.set(plane, f.i32.add(x, f.i32.shl(f.i32.mul(f.i32.mul(c, H), W), 2)));
      f.set(vrow, f.i32.add(v, f.i32.shl(f.i32.mul(c, ldv), 2)));
      f.for_(ty, 0, th, 1, () => {
        // the four input rows under this tile row, zero-padded: b_r[pw + iw] = x[2ty − ph + r][iw]
        for (let r = 0; r < 4; r++) {
          f.set(iy, f.i32.add(f.i32.sub(f.i32.shl(ty, 1), ph), r));
          f.set(dst, rowBuf(r));
          f.if_(f.i32.and(f.i32.geS(iy, 0), f.i32.ltS(iy, H)), () => {
            f.for_(q, 0, pw, 1, () => f.f32.store(f.i32.add(dst, f.i32.shl(q, 2)), 0));
            f.set(src, f.i32.add(plane, f.i32.mul(iy, rowB)));
            f.set(dst, f.i32.add(dst, f.i32.shl(pw, 2)));
            f.for_(q, 0, vend, 16, () => f.v128.store(f.i32.add(dst, q), f.v128.load(f.i32.add(src, q))));
            f.for_(q, vend, rowB, 4, () => f.f32.store(f.i32.add(dst, q), f.f32.load(f.i32.add(src, q))));
            f.set(dst, f.i32.add(rowBuf(r), 0));
            f.for_(q, f.i32.add(pw, W), wb, 1, () => f.f32.store(f.i32.add(dst, f.i32.shl(q, 2)), 0));
          }, () => {
            f.for_(q, 0, wbB, 16, () => f.v128.store(f.i32.add(dst, q), 0));
          });
        }
        // down the rows (Bᵀ·d): e0 = b0 − b2, e1 = b1 + b2, e2 = b2 − b1, e3 = b1 − b3, into buffers 4..7
        f.for_(q, 0, wbB, 16, () => {
          const b = (r: number) => f.v128.load(f.i32.add(rowBuf(r), q));
          f.v128.store(f.i32.add(rowBuf(4), q), f.f32x4.sub(b(0), b(2)));
          f.v128.store(f.i32.add(rowBuf(5), q), f.f32x4.add(b(1), b(2)));
          f.v128.store(f.i32.add(rowBuf(6), q), f.f32x4.sub(b(2), b(1)));
          f.v128.store(f.i32.add(rowBuf(7), q), f.f32x4.sub(b(1), b(3)));
        });
        // across the columns (·B), 4 tiles per step
        f.for_(tx, 0, tw, 4, () => {
          f.set(o, f.i32.add(vrow, f.i32.shl(f.i32.add(f.i32.mul(ty, tw), tx), 2)));
          for (let i = 0; i < 4; i++) {
            f.set(ep, f.i32.add(rowBuf(4 + i), f.i32.shl(tx, 3))); // e_i[2tx]
            // E_j = e_i[2(tx + l) + j] for l = 0..3: even / odd lanes of e_i[2tx ..] and e_i[2tx + 2 ..]
            f.set(lo, f.v128.load(ep));
            f.set(hi, f.v128.load(ep, 16));
            f.set(e[0], f.v128.shuffle32(lo, hi, [0, 2, 4, 6]));
            f.set(e[1], f.v128.shuffle32(lo, hi, [1, 3, 5, 7]));
            f.set(lo, f.v128.load(ep, 8));
            f.set(hi, f.v128.load(ep, 24));
            f.set(e[2], f.v128.shuffle32(lo, hi, [0, 2, 4, 6]));
            f.set(e[3], f.v128.shuffle32(lo, hi, [1, 3, 5, 7]));
            const at = (j: number) => f.i32.add(o, f.i32.mul(xis, 4 * i + j));
            f.v128.store(at(0), f.f32x4.sub(e[0], e[2]));
            f.v128.store(at(1), f.f32x4.add(e[1], e[2]));
            f.v128.store(at(2), f.f32x4.sub(e[2], e[1]));
            f.v128.store(at(3), f.f32x4.sub(e[1], e[3]));
          }
        });
      });
    });
  });

  // wino_output(mm, y, bias, flags, O, th, tw, Ho, Wo, ldm, xis, pa, pb, tile): output channels [0, O) of this
  // slice (mm at M[0][o0][0], y at plane o0, bias at bias[o0]) from the GEMM results; flags BIAS_BY_ROW, RELU;
  // tile = the thread's scratch (8 floats used).
  m.func('wino_output', {
    mm: 'i32', y: 'i32', bias: 'i32', flags: 'i32', O: 'i32', th: 'i32', tw: 'i32', Ho: 'i32', Wo: 'i32', ldm: 'i32', xis: 'i32',
    pa: 'i32', pb: 'i32', tile: 'i32',
  }, [], (f) => {
    const [mm, y, bias, flags, O, th, tw, Ho, Wo, ldm, xis, , , tile] = f.params;
    const oc = f.local('oc', 'i32');
    const ty = f.local('ty', 'i32');
    const tx = f.local('tx', 'i32');
    const q = f.local('q', 'i32');
    const n = f.local('n', 'i32');
    const mrow = f.local('mrow', 'i32');
    const yplane = f.local('yplane', 'i32');
    const mp = f.local('mp', 'i32');
    const yrow = f.local('yrow', 'i32');
    const bv = f.local('bv', 'v128');
    const s = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => f.local(`s${i}`, 'v128')); // s[4i + j] = (Aᵀ·m)[i][j]
    const y0 = f.local('y0', 'v128');
    const y1 = f.local('y1', 'v128');
    const a1 = f.local('a1', 'v128');
    const a2 = f.local('a2', 'v128');
    f.for_(oc, 0, O, 1, () => {
      f.set(mrow, f.i32.add(mm, f.i32.shl(f.i32.mul(oc, ldm), 2)));
      f.set(yplane, f.i32.add(y, f.i32.shl(f.i32.mul(f.i32.mul(oc, Ho), Wo), 2)));
      f.set(bv, 0);
      f.if_(f.i32.and(flags, BIAS_BY_ROW), () => f.set(bv, f.v128.load32Splat(f.i32.add(bias, f.i32.shl(oc, 2)))));
      f.for_(ty, 0, th, 1, () => {
        f.for_(tx, 0, tw, 4, () => {
          f.set(mp, f.i32.add(mrow, f.i32.shl(f.i32.add(f.i32.mul(ty, tw), tx), 2)));
          const m = (xi: number) => f.v128.load(xi === 0 ? mp : f.i32.add(mp, f.i32.mul(xis, xi)));
          // down (Aᵀ·m): s0j = m0j + m1j + m2j, s1j = m1j − m2j − m3j
          for (let j = 0; j < 4; j++) {
            f.set(a1, m(4 + j));
            f.set(a2, m(8 + j));
            f.set(s[j], f.f32x4.add(f.f32x4.add(m(j), a1), a2));
            f.set(s[4 + j], f.f32x4.sub(f.f32x4.sub(a1, a2), m(12 + j)));
          }
          for (let i = 0; i < 2; i++) {
            // across (·A): y_i0 = s_i0 + s_i1 + s_i2, y_i1 = s_i1 − s_i2 − s_i3, then the epilogue
            f.set(y0, f.f32x4.add(f.f32x4.add(f.f32x4.add(s[4 * i], s[4 * i + 1]), s[4 * i + 2]), bv));
            f.set(y1, f.f32x4.add(f.f32x4.sub(f.f32x4.sub(s[4 * i + 1], s[4 * i + 2]), s[4 * i + 3]), bv));
            f.if_(f.i32.and(flags, RELU), () => {
              // IEEE maximum: relu(NaN) stays NaN, as the GEMM's epilogue
              f.set(y0, f.f32x4.max(y0, 0));
              f.set(y1, f.f32x4.max(y1, 0));
            });
            const row = () => {
              f.set(yrow, f.i32.add(yplane, f.i32.shl(f.i32.add(f.i32.mul(f.i32.add(f.i32.shl(ty, 1), i), Wo), f.i32.shl(tx, 1)), 2)));
              // outputs 2tx .. 2tx + 7 of the row: y0/y1 lanes interleaved
              f.if_(f.i32.leS(f.i32.add(f.i32.shl(tx, 1), 8), Wo), () => {
                f.v128.store(yrow, f.v128.shuffle32(y0, y1, [0, 4, 1, 5]));
                f.v128.store(yrow, f.v128.shuffle32(y0, y1, [2, 6, 3, 7]), 16);
              }, () => {
                f.v128.store(tile, f.v128.shuffle32(y0, y1, [0, 4, 1, 5]));
                f.v128.store(tile, f.v128.shuffle32(y0, y1, [2, 6, 3, 7]), 16);
                f.set(n, f.i32.sub(Wo, f.i32.shl(tx, 1)));
                f.for_(q, 0, n, 1, (exit) => {
                  f.brIf(exit, f.i32.geS(q, 8));
                  f.f32.store(f.i32.add(yrow, f.i32.shl(q, 2)), f.f32.load(f.i32.add(tile, f.i32.shl(q, 2))));
                });
              });
            };
            if (i === 0) row();
            else f.if_(f.i32.ltS(f.i32.add(f.i32.shl(ty, 1), 1), Ho), row);
          }
        });
      });
    });
  });
}
