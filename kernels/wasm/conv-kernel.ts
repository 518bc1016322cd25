// im2col and col2im as wasm functions (conv.ts describes the convolution they serve). They move K·P floats
// per (image, group) against the GEMM's Og·K·P multiply-adds; written as TypeScript loops over the heap they
// took 10–25 % of a ResNet-50 conv layer on the wasm backend (bench/wasm-profile.mjs), here a few percent.
//
// im2col(x, cols, C, H, W, kh, kw, Ho, Wo, sh, sw, ph, pw, dh, dw): cols[((c·kh + i)·kw + j)·P + oh·Wo + ow]
// = x[c][oh·sh − ph + i·dh][ow·sw − pw + j·dw], 0 outside the image. With stride 1 along the width the
// in-image part of each output row is one run of the input row, copied a v128 at a time (unaligned loads and
// stores), the padding either side is zeroed; with stride 2 (ResNet's stem and downsampling convolutions) four
// outputs are the even lanes of two loads (i8x16.shuffle); other strides gather one float at a time.
// col2im(cols, gx, ...the same geometry): gx[c][ih][iw] += every cols entry im2col read from it (the input
// gradient of the convolution), one float at a time in the same (c, i, j, oh, ow) order as the TypeScript
// version, so the sums are bit-identical to it.
import type { Expr, Local, ModuleBuilder } from './builder/index';

const GEOMETRY = { C: 'i32', H: 'i32', W: 'i32', kh: 'i32', kw: 'i32', Ho: 'i32', Wo: 'i32', sh: 'i32', sw: 'i32', ph: 'i32', pw: 'i32', dh: 'i32', dw: 'i32' } as const;

export function addConvKernels(m: ModuleBuilder): void {
  m.func('im2col', { x: 'i32', cols: 'i32', ...GEOMETRY }, [], (f) => {
    const [x, cols, C, H, W, kh, kw, Ho, Wo, sh, sw, ph, pw, dh, dw] = f.params;
    const c = f.local('c', 'i32');
    const i = f.local('i', 'i32');
    const j = f.local('j', 'i32');
    const oh = f.local('oh', 'i32');
    const ow = f.local('ow', 'i32');
    const ih = f.local('ih', 'i32');
    const iw = f.local('iw', 'i32');
    const o = f.local('o', 'i32'); // byte address of the current cols entry
    const row = f.local('row', 'i32'); // byte address of x[c][ih][0]
    const plane = f.local('plane', 'i32');
    const lo = f.local('lo', 'i32');
    const hi = f.local('hi', 'i32');
    const src = f.local('src', 'i32');
    const end = f.local('end', 'i32');
    const vend = f.local('vend', 'i32');
    const shift = f.local('shift', 'i32'); // j·dw − pw: iw = ow·sw + shift
    const lo2 = f.local('lo2', 'i32');
    const hi2 = f.local('hi2', 'i32');
    const max = (a: Local | Expr, b: Local | number) => f.select('i32', a, b, f.i32.gtS(a, b));
    const min = (a: Local | Expr, b: Local | number) => f.select('i32', a, b, f.i32.ltS(a, b));
    const zero = (from: Local | number, to: Local) => {
      // cols bytes [o + 4·from, o + 4·to) = 0
      f.for_(ow, from, to, 1, () => f.f32.store(f.i32.add(o, f.i32.shl(ow, 2)), 0));
    };
    f.set(o, cols);
    f.for_(c, 0, C, 1, () => {
      f.set(plane, f.i32.add(x, f.i32.shl(f.i32.mul(f.i32.mul(c, H), W), 2)));
      f.for_(i, 0, kh, 1, () => {
        f.for_(j, 0, kw, 1, () => {
          f.set(shift, f.i32.sub(f.i32.mul(j, dw), pw));
          // stride 1: ow in [lo, hi) reads the image
          f.set(lo, max(f.i32.sub(0, shift), 0));
          f.set(hi, min(f.i32.sub(W, shift), Wo));
          f.set(hi, max(hi, lo));
          f.for_(oh, 0, Ho, 1, () => {
            f.set(ih, f.i32.add(f.i32.sub(f.i32.mul(oh, sh), ph), f.i32.mul(i, dh)));
            f.if_(f.i32.or(f.i32.ltS(ih, 0), f.i32.geS(ih, H)), () => {
              zero(0, Wo);
            }, () => {
              f.set(row, f.i32.add(plane, f.i32.shl(f.i32.mul(ih, W), 2)));
              f.if_(f.i32.eq(sw, 1), () => {
                zero(0, lo);
                // copy x[row][lo + shift .. hi + shift) to cols[o + lo .. o + hi)
                f.set(src, f.i32.add(row, f.i32.shl(f.i32.add(lo, shift), 2)));
                f.set(end, f.i32.shl(f.i32.sub(hi, lo), 2));
                f.set(vend, f.i32.and(end, -16));
                f.set(iw, f.i32.add(o, f.i32.shl(lo, 2)));
                f.for_(ow, 0, vend, 16, () => f.v128.store(f.i32.add(iw, ow), f.v128.load(f.i32.add(src, ow))));
                f.for_(ow, vend, end, 4, () => f.f32.store(f.i32.add(iw, ow), f.f32.load(f.i32.add(src, ow))));
                zero(hi, Wo);
              }, () => f.if_(f.i32.eq(sw, 2), () => {
                // stride 2: ow in [lo2, hi2) reads the image at 2·ow + shift; four outputs at a time are the even
                // lanes of two v128 loads (while the second load stays inside the row), the rest one at a time
                f.set(lo2, max(f.i32.shrS(f.i32.sub(1, shift), 1), 0));
                f.set(hi2, min(f.i32.shrS(f.i32.add(f.i32.sub(W, shift), 1), 1), Wo));
                f.set(hi2, max(hi2, lo2));
                zero(0, lo2);
                f.set(ow, lo2);
                f.block('s2.exit', (exit) => f.loop('s2.top', (top) => {
                  f.brIf(exit, f.i32.geS(f.i32.add(ow, 3), hi2));
                  f.set(iw, f.i32.add(f.i32.shl(ow, 1), shift));
                  f.brIf(exit, f.i32.geS(f.i32.add(iw, 7), W));
                  f.set(src, f.i32.add(row, f.i32.shl(iw, 2)));
                  f.v128.store(f.i32.add(o, f.i32.shl(ow, 2)), f.v128.shuffle32(f.v128.load(src), f.v128.load(src, 16), [0, 2, 4, 6]));
                  f.set(ow, f.i32.add(ow, 4));
                  f.br(top);
                }));
                f.for_(ow, ow, hi2, 1, () => {
                  f.f32.store(f.i32.add(o, f.i32.shl(ow, 2)), f.f32.load(f.i32.add(row, f.i32.shl(f.i32.add(f.i32.shl(ow, 1), shift), 2))));
                });
                zero(hi2, Wo);
              }, () => {
                f.for_(ow, 0, Wo, 1, () => {
                  f.set(iw, f.i32.add(f.i32.mul(ow, sw), shift));
                  f.if_(f.i32.and(f.i32.geS(iw, 0), f.i32.ltS(iw, W)),
                    () => f.f32.store(f.i32.add(o, f.i32.shl(ow, 2)), f.f32.load(f.i32.add(row, f.i32.shl(iw, 2)))),
                    () => f.f32.store(f.i32.add(o, f.i32.shl(ow, 2)), 0));
                });
              }));
            });
            f.set(o, f.i32.add(o, f.i32.shl(Wo, 2)));
          });
        });
      });
    });
  });

  m.func('col2im', { cols: 'i32', gx: 'i32', ...GEOMETRY }, [], (f) => {
    const [cols, gx, C, H, W, kh, kw, Ho, Wo, sh, sw, ph, pw, dh, dw] = f.params;
    const c = f.local('c', 'i32');
    const i = f.local('i', 'i32');
    const j = f.local('j', 'i32');
    const oh = f.local('oh', 'i32');
    const ow = f.local('ow', 'i32');
    const ih = f.local('ih', 'i32');
    const iw = f.local('iw', 'i32');
    const o = f.local('o', 'i32');
    const row = f.local('row', 'i32');
    const plane = f.local('plane', 'i32');
    const dst = f.local('dst', 'i32');
    f.set(o, cols);
    f.for_(c, 0, C, 1, () => {
      f.set(plane, f.i32.add(gx, f.i32.shl(f.i32.mul(f.i32.mul(c, H), W), 2)));
      f.for_(i, 0, kh, 1, () => {
        f.for_(j, 0, kw, 1, () => {
          f.for_(oh, 0, Ho, 1, () => {
            f.set(ih, f.i32.add(f.i32.sub(f.i32.mul(oh, sh), ph), f.i32.mul(i, dh)));
            f.if_(f.i32.and(f.i32.geS(ih, 0), f.i32.ltS(ih, H)), () => {
              f.set(row, f.i32.add(plane, f.i32.shl(f.i32.mul(ih, W), 2)));
              f.for_(ow, 0, Wo, 1, () => {
                f.set(iw, f.i32.add(f.i32.mul(ow, sw), f.i32.sub(f.i32.mul(j, dw), pw)));
                f.if_(f.i32.and(f.i32.geS(iw, 0), f.i32.ltS(iw, W)), () => {
                  f.set(dst, f.i32.add(row, f.i32.shl(iw, 2)));
                  f.f32.store(dst, f.f32.add(f.f32.load(dst), f.f32.load(f.i32.add(o, f.i32.shl(ow, 2)))));
                });
              });
            });
            f.set(o, f.i32.add(o, f.i32.shl(Wo, 2)));
          });
        });
      });
    });
  });

  // maxpool(x, values, indices, planes, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw): torch's rules as
  // kernels/cpu/pool.ts — padding never wins, the first maximum wins, a NaN takes over, and a window that
  // misses the input gives −∞ with index −1; indices are ih·W + iw within the plane.
  // Horizontal stride 2 (ResNet's 3×3/2 stem pool), dilation 1: four outputs whose windows lie inside the
  // input are done at once — window column j of outputs ow..ow+3 is every other input from iw0 + j, the even
  // lanes of two v128 loads (i8x16.shuffle), and each lane keeps its best value and index with the same rule
  // (take when greater, or NaN) through compare masks and bitselect. Visiting the window in the same order
  // gives the same values and indices as the scalar loop, which still does the edges and every other
  // geometry. (Scalar: 9.6 ms of a ResNet-50 Finer-CAM on one thread, 3.3 %.)
  m.func('maxpool', { x: 'i32', values: 'i32', indices: 'i32', planes: 'i32', H: 'i32', W: 'i32', Ho: 'i32', Wo: 'i32', kh: 'i32', kw: 'i32', sh: 'i32', sw: 'i32', ph: 'i32', pw: 'i32', dh: 'i32', dw: 'i32' }, [], (f) => {
    const [x, values, indices, planes, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw] = f.params;
    const pl = f.local('pl', 'i32');
    const oh = f.local('oh', 'i32');
    const ow = f.local('ow', 'i32');
    const i = f.local('i', 'i32');
    const j = f.local('j', 'i32');
    const ih = f.local('ih', 'i32');
    const iw = f.local('iw', 'i32');
    const iw0 = f.local('iw0', 'i32');
    const plane = f.local('plane', 'i32');
    const o = f.local('o', 'i32');
    const bi = f.local('bi', 'i32');
    const best = f.local('best', 'f32');
    const val = f.local('val', 'f32');
    const rowsIn = f.local('rowsIn', 'i32');
    const addr = f.local('addr', 'i32');
    const vbest = f.local('vbest', 'v128');
    const vbi = f.local('vbi', 'v128');
    const v = f.local('v', 'v128');
    const vidx = f.local('vidx', 'v128');
    const take = f.local('take', 'v128');
    const simd = f.local('simd', 'i32');
    f.set(simd, f.i32.and(f.i32.eq(sw, 2), f.i32.eq(dw, 1)));
    f.set(o, 0);
    f.for_(pl, 0, planes, 1, () => {
      f.set(plane, f.i32.add(x, f.i32.shl(f.i32.mul(f.i32.mul(pl, H), W), 2)));
      f.for_(oh, 0, Ho, 1, () => {
        // every window row of this output row inside the input
        f.set(ih, f.i32.sub(f.i32.mul(oh, sh), ph));
        f.set(rowsIn, f.i32.and(f.i32.and(f.i32.geS(ih, 0), f.i32.ltS(f.i32.add(ih, f.i32.mul(f.i32.sub(kh, 1), dh)), H)), simd));
        f.set(ow, 0);
        f.block('ow.exit', (exitOw) => f.loop('ow.top', (topOw) => {
          f.brIf(exitOw, f.i32.geS(ow, Wo));
          f.set(iw0, f.i32.sub(f.i32.shl(ow, 1), pw));
          // four outputs at once: lanes ow..ow+3, columns iw0 + j + {0, 2, 4, 6} (+1 more for the second load)
          f.if_(f.i32.and(f.i32.and(rowsIn, f.i32.ltS(f.i32.add(ow, 3), Wo)), f.i32.and(f.i32.geS(iw0, 0), f.i32.ltS(f.i32.add(iw0, f.i32.add(kw, 7)), W))), () => {
            const load = () => {
              f.set(addr, f.i32.add(plane, f.i32.shl(f.i32.add(f.i32.mul(ih, W), f.i32.add(iw0, j)), 2)));
              f.set(v, f.v128.shuffle32(f.v128.load(addr), f.v128.load(addr, 16), [0, 2, 4, 6]));
              f.set(vidx, f.v128.i32x4Add(f.v128.i32x4Splat(f.i32.add(f.i32.mul(ih, W), f.i32.add(iw0, j))), f.v128.i32x4Const(0, 2, 4, 6)));
            };
            f.set(ih, f.i32.sub(f.i32.mul(oh, sh), ph));
            f.set(j, 0);
            load();
            f.set(vbest, v);
            f.set(vbi, vidx);
            f.for_(i, 0, kh, 1, () => {
              f.set(ih, f.i32.add(f.i32.sub(f.i32.mul(oh, sh), ph), f.i32.mul(i, dh)));
              f.for_(j, 0, kw, 1, () => {
                load();
                f.set(take, f.v128.or(f.f32x4.gt(v, vbest), f.f32x4.ne(v, v)));
                f.set(vbest, f.v128.bitselect(v, vbest, take));
                f.set(vbi, f.v128.bitselect(vidx, vbi, take));
              });
            });
            f.set(ih, f.i32.sub(f.i32.mul(oh, sh), ph));
            f.v128.store(f.i32.add(values, o), vbest);
            f.v128.store(f.i32.add(indices, o), vbi);
            f.set(o, f.i32.add(o, 16));
            f.set(ow, f.i32.add(ow, 4));
            f.br(topOw);
          });
          f.set(best, -Infinity);
          f.set(bi, -1);
          f.for_(i, 0, kh, 1, () => {
            f.set(ih, f.i32.add(f.i32.sub(f.i32.mul(oh, sh), ph), f.i32.mul(i, dh)));
            f.if_(f.i32.and(f.i32.geS(ih, 0), f.i32.ltS(ih, H)), () => {
              f.for_(j, 0, kw, 1, () => {
                f.set(iw, f.i32.add(f.i32.sub(f.i32.mul(ow, sw), pw), f.i32.mul(j, dw)));
                f.if_(f.i32.and(f.i32.geS(iw, 0), f.i32.ltS(iw, W)), () => {
                  f.set(val, f.f32.load(f.i32.add(plane, f.i32.shl(f.i32.add(f.i32.mul(ih, W), iw), 2))));
                  f.if_(f.i32.or(f.i32.or(f.i32.ltS(bi, 0), f.f32.gt(val, best)), f.f32.ne(val, val)), () => {
                    f.set(best, val);
                    f.set(bi, f.i32.add(f.i32.mul(ih, W), iw));
                  });
                });
              });
            });
          });
          f.set(ih, f.i32.sub(f.i32.mul(oh, sh), ph));
          f.f32.store(f.i32.add(values, o), best);
          f.i32.store(f.i32.add(indices, o), bi);
          f.set(o, f.i32.add(o, 4));
          f.set(ow, f.i32.add(ow, 1));
          f.br(topOw);
        }));
      });
    });
  });
}
