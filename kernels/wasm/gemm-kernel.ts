// The wasm backend's matrix product, written as WebAssembly SIMD from TypeScript (GotoBLAS-style, as
// kernels/cpu/gemm-kernel.ts, with an f32x4 register tile instead of doubles):
//
//   C[m×n] = A[m×k] · B[k×n]     A, B with any element strides (so transposes cost nothing), C row-major
//
// Loop nest, outermost first (all of it one wasm function, gemm_<tile>; gemm.ts splits C's columns between
// threads, each running this on its own slice with its own packing scratch):
//   jc: columns of C in blocks of NC         B block (KC×NC floats, 2 MiB) streams from L3
//   pc: the shared dimension in blocks of KC  ─ pack that B block into column panels of NR
//   ic: rows of C in blocks of MC            ─ pack that A block (MC×KC, 144 KiB) into row panels of MR: L2
//   --- macro(): ---
//   jr: one B panel (KC×NR·4 B = 8 KiB): stays in L1 while ...
//   ir: ... every A panel of the block streams past it through the micro-kernel, which keeps the MR×NR tile
//       of C in MR·NR/4 v128 locals for the whole KC loop and then writes it back once.
//
// Micro-kernel step p: the NR/4 vectors of B row p are loaded once, each of the MR values of A column p is
// loaded already splatted to 4 lanes (v128.load32_splat), and every accumulator gets one madd — with relaxed
// SIMD f32x4.relaxed_madd, else mul + add. Packing zero-pads to whole panels, so the kernel never branches on
// edges; only the write-back clips (edge tiles go through a scratch tile and a scalar loop).
//
// Write-back ("epilogue", core/backend.ts's Epilogue minus gelu): when `flags` asks, the tile adds what C
// already holds (the later K blocks), then the bias (by column for matmul, by row for conv), then relu —
// while the tile is still in registers. gelu needs erf: the backend applies it afterwards as an f32x4 pass over
// the output (math-kernel.ts), which measured negligible beside the product; in the register tile it would
// need ~10 more v128 temporaries than the 15 registers V8 allocates hold.
//
// Register tile, measured with `node bench/wasm-gemm.mjs --tiles` (1024² matmul, one thread, the fastest of
// 21 interleaved passes — the 2-core Zen 4 VM is shared, so only the minimum is meaningful), Node 20.20 / V8 11.3:
//                 4×8    5×8    6×8    8×8    4×12   3×16   (GFLOP/s)
//   mul + add     49.5   35.5   24.3   29.2   26.9   28.1   (load 8–9 on the machine)
//   relaxed_madd  48.7   33.9   40.0   34.4   26.9   27.2   (load ~1)
// 4×8 wins by 20–40 %: 8 accumulators + 2 B vectors + 1 A splat (+ 1 product temporary without FMA) = 11–12
// v128 values, inside the 15 xmm registers V8 allocates on x64 (it does not use AVX-512's extra ones); the
// larger tiles need 13–17 and V8's register allocator spills in the inner loop (6×8 recovers partly with the
// fused madd, which needs no temporary).
import type { FunctionBuilder, Local, ModuleBuilder, Operand } from './builder/index';

export interface Tile {
  /** Rows of the register tile. */
  mr: number;
  /** f32x4 vectors per row: the tile has nr = 4·nv columns. */
  nv: number;
}

export const DEFAULT_TILE: Tile = { mr: 4, nv: 2 };

/** Flags of macro(): what the write-back adds to the product. */
export const ACCUMULATE = 1; // C += product (later K blocks)
export const BIAS_BY_COL = 2; // + bias[column]
export const BIAS_BY_ROW = 4; // + bias[row]
export const RELU = 8;

/** Names of the three functions a tile adds to the module. */
export function gemmNames(t: Tile): { packA: string; packAScaled: string; packB: string; macro: string; gemm: string; gemmPacked: string } {
  const tag = `${t.mr}x${4 * t.nv}`;
  return {
    packA: `gemm_packA_${tag}`, packAScaled: `gemm_packA_scaled_${tag}`, packB: `gemm_packB_${tag}`, macro: `gemm_macro_${tag}`,
    gemm: `gemm_${tag}`, gemmPacked: `gemm_packed_${tag}`,
  };
}

/**
 * Layout of a whole A matrix packed once (WasmGemm.packA, packedBytes): for each K block pc (KC deep, the last
 * one kc = k − pc), the row panels of every row in order — the block starts at float pc·mpad, row panel ir at
 * + ir·kc — exactly what packA writes for one (ic, pc) block, for all rows at once. gemm_packed reads its
 * A blocks from there instead of packing them: a convolution's weights are packed once, not on every call and
 * in every thread's column slice (the repacking was up to a third of a layer4 convolution: 1M weights against
 * 49 output pixels).
 */
export function packedRows(m: number, t: Tile): number {
  return Math.ceil(m / t.mr) * t.mr;
}

// Cache blocking: KC·NR·4 B = 8 KiB per B panel (L1 is 32 KiB); MC·KC·4 B = 144 KiB per A block (L2 is
// 1 MiB); KC·NC·4 B = 2 MiB per B block (L3).
export const KC = 256;
export const NC = 2048;
/** Rows of a packed A block: a whole number of register tiles near 144. */
export function blockRows(t: Tile): number {
  return Math.floor(144 / t.mr) * t.mr;
}
/** Bytes of per-thread scratch the gemm function needs: packed A block, packed B block, one edge tile. */
export function gemmScratchBytes(t: Tile): { pa: number; pb: number; tile: number } {
  return { pa: blockRows(t) * KC * 4, pb: KC * (NC + 4 * t.nv) * 4, tile: t.mr * 4 * t.nv * 4 };
}

/** Adds packA, packB, macro and the gemm driver for one register tile to the module. */
export function addGemmKernel(m: ModuleBuilder, t: Tile): void {
  const { mr: MR, nv: NV } = t;
  const NR = 4 * NV;
  const names = gemmNames(t);

  // packA(dst, A, rs, cs, mc, kc): rows [0, mc) × depth [0, kc) of A (element strides rs, cs) into row panels
  // of MR: panel at dst + ir·kc·4, step p at + p·MR·4, zero rows below mc.
  m.func(names.packA, { dst: 'i32', a: 'i32', rs: 'i32', cs: 'i32', mc: 'i32', kc: 'i32' }, [], (f) => {
    const [dst, a, rs, cs, mc, kc] = f.params;
    const ir = f.local('ir', 'i32');
    const p = f.local('p', 'i32');
    const r = f.local('r', 'i32');
    const rows = f.local('rows', 'i32');
    const src = f.local('src', 'i32'); // address of A[ir][p]
    const o = f.local('o', 'i32');
    const rsB = f.local('rsBytes', 'i32');
    const csB = f.local('csBytes', 'i32');
    f.set(rsB, f.i32.shl(rs, 2));
    f.set(csB, f.i32.shl(cs, 2));
    f.set(o, dst);
    f.for_(ir, 0, mc, MR, () => {
      f.set(rows, f.i32.sub(mc, ir));
      f.if_(f.i32.geS(rows, MR), () => {
        // a whole panel: MR loads per step, unrolled
        f.for_(p, 0, kc, 1, () => {
          f.set(src, f.i32.add(a, f.i32.add(f.i32.mul(ir, rsB), f.i32.mul(p, csB))));
          for (let rr = 0; rr < MR; rr++) {
            f.f32.store(o, f.f32.load(rr === 0 ? src : f.i32.add(src, f.i32.mul(rsB, rr))), rr * 4);
          }
          f.set(o, f.i32.add(o, MR * 4));
        });
      }, () => {
        // the last, partial panel: rows past mc are zero
        f.for_(p, 0, kc, 1, () => {
          f.for_(r, 0, MR, 1, () => {
            f.if_(f.i32.ltS(r, rows), () => {
              f.f32.store(o, f.f32.load(f.i32.add(a, f.i32.add(f.i32.mul(f.i32.add(ir, r), rsB), f.i32.mul(p, csB)))));
            }, () => f.f32.store(o, 0));
            f.set(o, f.i32.add(o, 4));
          });
        });
      });
    });
  });

  // packA_scaled(dst, A, rs, cs, mc, kc, scale): packA with row r multiplied by scale[r] (float32 products:
  // BatchNorm's scale folded into a convolution's weights as they are packed, backend.ts conv2dScaled). Runs
  // once per weight (the pack is cached), but over every weight of a model in its first pass, so whole panels
  // are unrolled as in packA (a per-element loop made ResNet-50's first pass ~0.2 s slower).
  m.func(names.packAScaled, { dst: 'i32', a: 'i32', rs: 'i32', cs: 'i32', mc: 'i32', kc: 'i32', scale: 'i32' }, [], (f) => {
    const [dst, a, rs, cs, mc, kc, scale] = f.params;
    const ir = f.local('ir', 'i32');
    const p = f.local('p', 'i32');
    const r = f.local('r', 'i32');
    const o = f.local('o', 'i32');
    const src = f.local('src', 'i32');
    const rsB = f.local('rsBytes', 'i32');
    const csB = f.local('csBytes', 'i32');
    const sc = Array.from({ length: MR }, (_, i) => f.local(`s${i}`, 'f32'));
    f.set(rsB, f.i32.shl(rs, 2));
    f.set(csB, f.i32.shl(cs, 2));
    f.set(o, dst);
    f.for_(ir, 0, mc, MR, () => {
      f.if_(f.i32.geS(f.i32.sub(mc, ir), MR), () => {
        for (let rr = 0; rr < MR; rr++) f.set(sc[rr], f.f32.load(f.i32.add(scale, f.i32.shl(ir, 2)), 4 * rr));
        f.set(src, f.i32.add(a, f.i32.mul(ir, rsB)));
        f.for_(p, 0, kc, 1, () => {
          for (let rr = 0; rr < MR; rr++) {
            f.f32.store(o, f.f32.mul(f.f32.load(rr === 0 ? src : f.i32.add(src, f.i32.mul(rsB, rr))), sc[rr]), rr * 4);
          }
          f.set(src, f.i32.add(src, csB));
          f.set(o, f.i32.add(o, MR * 4));
        });
      }, () => {
        f.for_(p, 0, kc, 1, () => {
          f.for_(r, 0, MR, 1, () => {
            f.if_(f.i32.ltS(f.i32.add(ir, r), mc), () => {
              f.f32.store(o, f.f32.mul(
                f.f32.load(f.i32.add(a, f.i32.add(f.i32.mul(f.i32.add(ir, r), rsB), f.i32.mul(p, csB)))),
                f.f32.load(f.i32.add(scale, f.i32.shl(f.i32.add(ir, r), 2)))));
            }, () => f.f32.store(o, 0));
            f.set(o, f.i32.add(o, 4));
          });
        });
      });
    });
  });

  // packB(dst, B, rs, cs, kc, nc): depth [0, kc) × columns [0, nc) of B into column panels of NR: panel at
  // dst + jr·kc·4, step p at + p·NR·4, zero columns past nc. Rows of a contiguous B (cs = 1) are copied a v128
  // at a time.
  m.func(names.packB, { dst: 'i32', b: 'i32', rs: 'i32', cs: 'i32', kc: 'i32', nc: 'i32' }, [], (f) => {
    const [dst, b, rs, cs, kc, nc] = f.params;
    const jr = f.local('jr', 'i32');
    const p = f.local('p', 'i32');
    const c = f.local('c', 'i32');
    const cols = f.local('cols', 'i32');
    const src = f.local('src', 'i32');
    const o = f.local('o', 'i32');
    const rsB = f.local('rsBytes', 'i32');
    const csB = f.local('csBytes', 'i32');
    f.set(rsB, f.i32.shl(rs, 2));
    f.set(csB, f.i32.shl(cs, 2));
    f.set(o, dst);
    f.for_(jr, 0, nc, NR, () => {
      f.set(cols, f.i32.sub(nc, jr));
      f.set(src, f.i32.add(b, f.i32.mul(jr, csB)));
      f.if_(f.i32.and(f.i32.geS(cols, NR), f.i32.eq(cs, 1)), () => {
        f.for_(p, 0, kc, 1, () => {
          for (let v = 0; v < NV; v++) f.v128.store(o, f.v128.load(src, v * 16), v * 16);
          f.set(src, f.i32.add(src, rsB));
          f.set(o, f.i32.add(o, NR * 4));
        });
      }, () => f.if_(f.i32.geS(cols, NR), () => {
        // a whole panel of a strided B (a transposed weight, as Linear's x·Wᵀ): NR loads per step, unrolled,
        // no bounds test (this was a per-element branch: ~15 % of a ViT linear layer)
        f.for_(p, 0, kc, 1, () => {
          f.set(c, src);
          for (let cc = 0; cc < NR; cc++) {
            f.f32.store(o, f.f32.load(c), cc * 4);
            if (cc < NR - 1) f.set(c, f.i32.add(c, csB));
          }
          f.set(src, f.i32.add(src, rsB));
          f.set(o, f.i32.add(o, NR * 4));
        });
      }, () => {
        f.for_(p, 0, kc, 1, () => {
          f.for_(c, 0, NR, 1, () => {
            f.if_(f.i32.ltS(c, cols), () => f.f32.store(o, f.f32.load(f.i32.add(src, f.i32.mul(c, csB)))), () => f.f32.store(o, 0));
            f.set(o, f.i32.add(o, 4));
          });
          f.set(src, f.i32.add(src, rsB));
        });
      }));
    });
  });

  // macro(mc, nc, kc, pa, pb, c, ldc, flags, bias, tile): every MR×NR tile of the mc×nc block of C from the
  // packed A block pa and B block pb. `bias` points at the bias of column 0 (BIAS_BY_COL) or row 0 (BIAS_BY_ROW)
  // of this block; `tile` is MR·NR floats of scratch for the edge tiles.
  m.func(names.macro, { mc: 'i32', nc: 'i32', kc: 'i32', pa: 'i32', pb: 'i32', c: 'i32', ldc: 'i32', flags: 'i32', bias: 'i32', tile: 'i32' }, [], (f) => {
    const [mc, nc, kc, pa, pb, c, ldc, flags, bias, tile] = f.params;
    const jr = f.local('jr', 'i32');
    const ir = f.local('ir', 'i32');
    const ap = f.local('ap', 'i32'); // walks the A panel
    const bp = f.local('bp', 'i32'); // walks the B panel
    const steps = f.local('steps', 'i32');
    const crow = f.local('crow', 'i32'); // address of C[ir + r][jr]
    const ldcB = f.local('ldcBytes', 'i32');
    const rows = f.local('rows', 'i32');
    const cols = f.local('cols', 'i32');
    const r = f.local('r', 'i32');
    const s = f.local('s', 'i32');
    const v = f.local('v', 'f32');
    const a = f.local('a', 'v128');
    const bv: Local[] = [];
    for (let j = 0; j < NV; j++) bv.push(f.local(`b${j}`, 'v128'));
    const acc: Local[][] = [];
    for (let i = 0; i < MR; i++) {
      acc.push([]);
      for (let j = 0; j < NV; j++) acc[i].push(f.local(`c${i}${j}`, 'v128'));
    }
    const flag = (bit: number) => f.i32.and(flags, bit);
    f.set(ldcB, f.i32.shl(ldc, 2));

    f.for_(jr, 0, nc, NR, () => {
      f.for_(ir, 0, mc, MR, () => {
        // ---- the micro-kernel: acc = A panel · B panel over kc steps ----
        for (const row of acc) for (const x of row) f.set(x, 0);
        f.set(ap, f.i32.add(pa, f.i32.mul(ir, f.i32.shl(kc, 2))));
        f.set(bp, f.i32.add(pb, f.i32.mul(jr, f.i32.shl(kc, 2))));
        f.set(steps, kc);
        f.loop('k', (top) => {
          for (let j = 0; j < NV; j++) f.set(bv[j], f.v128.load(bp, 16 * j));
          for (let i = 0; i < MR; i++) {
            f.set(a, f.v128.load32Splat(ap, 4 * i));
            for (let j = 0; j < NV; j++) f.set(acc[i][j], f.f32x4.madd(a, bv[j], acc[i][j]));
          }
          f.set(ap, f.i32.add(ap, MR * 4));
          f.set(bp, f.i32.add(bp, NR * 4));
          f.set(steps, f.i32.sub(steps, 1));
          f.brIf(top, steps);
        });

        // ---- write-back ----
        f.set(rows, f.i32.sub(mc, ir));
        f.set(cols, f.i32.sub(nc, jr));
        const cAddr = (i: number) => f.i32.add(f.i32.add(c, f.i32.shl(jr, 2)), f.i32.mul(f.i32.add(ir, i), ldcB));
        f.if_(f.i32.and(f.i32.geS(rows, MR), f.i32.geS(cols, NR)), () => {
          // a whole tile, in registers
          f.if_(flag(ACCUMULATE), () => {
            for (let i = 0; i < MR; i++) {
              f.set(crow, cAddr(i));
              for (let j = 0; j < NV; j++) f.set(acc[i][j], f.f32x4.add(acc[i][j], f.v128.load(crow, 16 * j)));
            }
          });
          f.if_(flag(BIAS_BY_COL), () => {
            for (let j = 0; j < NV; j++) {
              f.set(a, f.v128.load(f.i32.add(bias, f.i32.shl(jr, 2)), 16 * j));
              for (let i = 0; i < MR; i++) f.set(acc[i][j], f.f32x4.add(acc[i][j], a));
            }
          });
          f.if_(flag(BIAS_BY_ROW), () => {
            for (let i = 0; i < MR; i++) {
              f.set(a, f.v128.load32Splat(f.i32.add(bias, f.i32.shl(ir, 2)), 4 * i));
              for (let j = 0; j < NV; j++) f.set(acc[i][j], f.f32x4.add(acc[i][j], a));
            }
          });
          f.if_(flag(RELU), () => {
            // IEEE maximum: relu(NaN) stays NaN and relu(-0) is +0, as torch.relu
            for (const row of acc) for (const x of row) f.set(x, f.f32x4.max(x, 0));
          });
          for (let i = 0; i < MR; i++) {
            f.set(crow, cAddr(i));
            for (let j = 0; j < NV; j++) f.v128.store(crow, acc[i][j], 16 * j);
          }
        }, () => {
          // an edge tile: through the scratch tile, clipped to rows × cols, the same steps in scalar
          for (let i = 0; i < MR; i++) for (let j = 0; j < NV; j++) f.v128.store(tile, acc[i][j], (i * NR + 4 * j) * 4);
          f.for_(r, 0, rows, 1, (exitR) => {
            f.brIf(exitR, f.i32.geS(r, MR));
            f.set(crow, f.i32.add(f.i32.add(c, f.i32.shl(jr, 2)), f.i32.mul(f.i32.add(ir, r), ldcB)));
            f.for_(s, 0, cols, 1, (exitS) => {
              f.brIf(exitS, f.i32.geS(s, NR));
              f.set(v, f.f32.load(f.i32.add(tile, f.i32.shl(f.i32.add(f.i32.mul(r, NR), s), 2))));
              f.if_(flag(ACCUMULATE), () => f.set(v, f.f32.add(v, f.f32.load(f.i32.add(crow, f.i32.shl(s, 2))))));
              f.if_(flag(BIAS_BY_COL), () => f.set(v, f.f32.add(v, f.f32.load(f.i32.add(bias, f.i32.shl(f.i32.add(jr, s), 2))))));
              f.if_(flag(BIAS_BY_ROW), () => f.set(v, f.f32.add(v, f.f32.load(f.i32.add(bias, f.i32.shl(f.i32.add(ir, r), 2))))));
              f.if_(flag(RELU), () => f.set(v, f.f32.max(v, 0)));
              f.f32.store(f.i32.add(crow, f.i32.shl(s, 2)), v);
            });
          });
        });
      });
    });
  });

  // gemm(m, n, k, a, rsA, csA, b, rsB, csB, c, ldc, flags, bias, pa, pb, tile): the three outer loops. flags'
  // ACCUMULATE bit makes even the first K block add to C; its epilogue bits apply on the last K block. One
  // call computes the whole product on the calling thread; threads split C's columns between calls.
  m.func(names.gemm, {
    m: 'i32', n: 'i32', k: 'i32', a: 'i32', rsA: 'i32', csA: 'i32', b: 'i32', rsB: 'i32', csB: 'i32',
    c: 'i32', ldc: 'i32', flags: 'i32', bias: 'i32', pa: 'i32', pb: 'i32', tile: 'i32',
  }, [], (f) => {
    const [mm, n, k, a, rsA, csA, b, rsB, csB, c, ldc, flags, bias, pa, pb, tile] = f.params;
    blockLoops(f, t, names, { mm, n, k, b, rsB, csB, c, ldc, flags, bias, pb, tile }, (ic, pc, mc, kc) => {
      f.callVoid(names.packA, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
        pa, f.i32.add(a, f.i32.shl(f.i32.add(f.i32.mul(ic, rsA), f.i32.mul(pc, csA)), 2)), rsA, csA, mc, kc);
      return pa;
    });
  });

  // gemm_packed(m, n, k, ap, mpad, m0, b, rsB, csB, c, ldc, flags, bias, pa, pb, tile): the same loops on an A
  // packed beforehand (packedRows' layout, mpad rows per K block), rows [m0, m0 + m) of it; c and bias point at
  // row m0 already. pa is unused (kept so every thread's scratch arguments append the same way).
  m.func(names.gemmPacked, {
    m: 'i32', n: 'i32', k: 'i32', ap: 'i32', mpad: 'i32', m0: 'i32', b: 'i32', rsB: 'i32', csB: 'i32',
    c: 'i32', ldc: 'i32', flags: 'i32', bias: 'i32', pa: 'i32', pb: 'i32', tile: 'i32',
  }, [], (f) => {
    const [mm, n, k, ap, mpad, m0, b, rsB, csB, c, ldc, flags, bias, , pb, tile] = f.params;
    // the packed rows m0 + ic.. of K block pc
    blockLoops(f, t, names, { mm, n, k, b, rsB, csB, c, ldc, flags, bias, pb, tile },
      (ic, pc, _mc, kc) => f.i32.add(ap, f.i32.shl(f.i32.add(f.i32.mul(pc, mpad), f.i32.mul(f.i32.add(m0, ic), kc)), 2)));
  });
}

/**
 * The three outer loops both GEMM entry points share: columns of C in NC blocks (B packed per block), K in KC
 * blocks, rows in MC blocks, each (row block, K block) handed to the macro-kernel. `aBlock` says where the
 * packed A panel of a (row block, K block) is — packing it first if it must. The first K block overwrites C
 * unless flags ask to accumulate; the last one applies the epilogue (bias, relu).
 */
function blockLoops(
  f: FunctionBuilder, t: Tile, names: ReturnType<typeof gemmNames>,
  p: { mm: Local; n: Local; k: Local; b: Local; rsB: Local; csB: Local; c: Local; ldc: Local; flags: Local; bias: Local; pb: Local; tile: Local },
  aBlock: (ic: Local, pc: Local, mc: Local, kc: Local) => Operand,
): void {
  const { mm, n, k, b, rsB, csB, c, ldc, flags, bias, pb, tile } = p;
  const MC = blockRows(t);
  const jc = f.local('jc', 'i32');
  const pc = f.local('pc', 'i32');
  const ic = f.local('ic', 'i32');
  const nc = f.local('nc', 'i32');
  const kc = f.local('kc', 'i32');
  const mc = f.local('mc', 'i32');
  const blockFlags = f.local('blockFlags', 'i32');
  const min = (x: Local, limit: number) => f.select('i32', x, limit, f.i32.ltS(x, limit));
  f.for_(jc, 0, n, NC, () => {
    f.set(nc, f.i32.sub(n, jc));
    f.set(nc, min(nc, NC));
    f.for_(pc, 0, k, KC, () => {
      f.set(kc, f.i32.sub(k, pc));
      f.set(kc, min(kc, KC));
      f.callVoid(names.packB, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
        pb, f.i32.add(b, f.i32.shl(f.i32.add(f.i32.mul(pc, rsB), f.i32.mul(jc, csB)), 2)), rsB, csB, kc, nc);
      f.set(blockFlags, f.select('i32', ACCUMULATE, f.i32.and(flags, ACCUMULATE), pc));
      f.if_(f.i32.geS(f.i32.add(pc, kc), k), () => f.set(blockFlags, f.i32.or(blockFlags, f.i32.and(flags, BIAS_BY_COL | BIAS_BY_ROW | RELU))));
      f.for_(ic, 0, mm, MC, () => {
        f.set(mc, f.i32.sub(mm, ic));
        f.set(mc, min(mc, MC));
        const panel = aBlock(ic, pc, mc, kc);
        f.callVoid(names.macro, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
          mc, nc, kc, panel, pb, f.i32.add(c, f.i32.shl(f.i32.add(f.i32.mul(ic, ldc), jc), 2)), ldc, blockFlags,
          // the bias of this block's first column (matmul) or row (conv)
          f.select('i32', f.i32.add(bias, f.i32.shl(f.select('i32', jc, ic, f.i32.and(flags, BIAS_BY_COL)), 2)), 0, bias),
          tile);
      });
    });
  });
}

/**
 * Matrix–vector products for a one-row A (a batch-1 Linear layer and its gradient: 1×2048·2048×1000 in a
 * ResNet-50), where the GEMM's 4-row register tile would compute 3 rows of padding and pack all of B for one
 * use (1.2–1.4 ms each; these are memory-bound, ~0.3 ms). Single-threaded; each output is one lane's sum in a
 * fixed order, so the result does not depend on the thread count.
 *   gemv_rows(a, b, rsB, out, k, n, flags, bias): out[j] = Σ_p a[p]·B[p][j], B's rows contiguous (B[p][j] at
 *     b + 4·(p·rsB + j)): out += a[p]·(row p) row by row, four columns per v128 — out stays in L1, B streams.
 *   gemv_dots(a, b, csB, out, k, n, flags, bias): the same with B's columns contiguous (B[p][j] at
 *     b + 4·(p + j·csB): Linear's x·Wᵀ), four dot products at a time, each in four lanes added at the end.
 * flags: BIAS_BY_COL (bias[j]) and RELU, applied after the sum.
 */
export function addGemvKernels(m: ModuleBuilder): void {
  const epilogue = (f: FunctionBuilder, out: Local, n: Local, flags: Local, bias: Local) => {
    const j = f.local('ej', 'i32');
    const v = f.local('ev', 'f32');
    f.if_(f.i32.and(flags, BIAS_BY_COL | RELU), () => {
      f.for_(j, 0, n, 1, () => {
        f.set(v, f.f32.load(f.i32.add(out, f.i32.shl(j, 2))));
        f.if_(f.i32.and(flags, BIAS_BY_COL), () => f.set(v, f.f32.add(v, f.f32.load(f.i32.add(bias, f.i32.shl(j, 2))))));
        f.if_(f.i32.and(flags, RELU), () => f.set(v, f.f32.max(v, 0)));
        f.f32.store(f.i32.add(out, f.i32.shl(j, 2)), v);
      });
    });
  };

  m.func('gemv_rows', { a: 'i32', b: 'i32', rsB: 'i32', out: 'i32', k: 'i32', n: 'i32', flags: 'i32', bias: 'i32' }, [], (f) => {
    const [a, b, rsB, out, k, n, flags, bias] = f.params;
    const p = f.local('p', 'i32');
    const j = f.local('j', 'i32');
    const row = f.local('row', 'i32');
    const n4 = f.local('n4', 'i32');
    const s = f.local('s', 'v128');
    const x = f.local('x', 'f32');
    f.set(n4, f.i32.and(n, -4));
    f.for_(j, 0, n, 1, () => f.f32.store(f.i32.add(out, f.i32.shl(j, 2)), 0));
    f.for_(p, 0, k, 1, () => {
      f.set(row, f.i32.add(b, f.i32.shl(f.i32.mul(p, rsB), 2)));
      f.set(x, f.f32.load(f.i32.add(a, f.i32.shl(p, 2))));
      f.set(s, f.f32x4.splat(x));
      f.for_(j, 0, n4, 4, () => {
        const o = f.i32.add(out, f.i32.shl(j, 2));
        f.v128.store(o, f.f32x4.add(f.v128.load(f.i32.add(out, f.i32.shl(j, 2))), f.f32x4.mul(s, f.v128.load(f.i32.add(row, f.i32.shl(j, 2))))));
      });
      f.for_(j, n4, n, 1, () => {
        f.f32.store(f.i32.add(out, f.i32.shl(j, 2)), f.f32.add(f.f32.load(f.i32.add(out, f.i32.shl(j, 2))), f.f32.mul(x, f.f32.load(f.i32.add(row, f.i32.shl(j, 2))))));
      });
    });
    epilogue(f, out, n, flags, bias);
  });

  m.func('gemv_dots', { a: 'i32', b: 'i32', csB: 'i32', out: 'i32', k: 'i32', n: 'i32', flags: 'i32', bias: 'i32' }, [], (f) => {
    const [a, b, csB, out, k, n, flags, bias] = f.params;
    const p = f.local('p', 'i32');
    const j = f.local('j', 'i32');
    const k4 = f.local('k4', 'i32');
    const col = f.local('col', 'i32');
    const av = f.local('av', 'v128');
    const acc = f.local('acc', 'v128');
    const t = f.local('t', 'f32');
    f.set(k4, f.i32.and(k, -4));
    f.for_(j, 0, n, 1, () => {
      f.set(col, f.i32.add(b, f.i32.shl(f.i32.mul(j, csB), 2)));
      f.set(acc, 0);
      f.for_(p, 0, k4, 4, () => {
        f.set(av, f.v128.load(f.i32.add(a, f.i32.shl(p, 2))));
        f.set(acc, f.f32x4.add(acc, f.f32x4.mul(av, f.v128.load(f.i32.add(col, f.i32.shl(p, 2))))));
      });
      // lanes added in a fixed order, then the tail
      f.set(t, f.f32.add(f.f32.add(f.f32x4.extractLane(acc, 0), f.f32x4.extractLane(acc, 1)), f.f32.add(f.f32x4.extractLane(acc, 2), f.f32x4.extractLane(acc, 3))));
      f.for_(p, k4, k, 1, () => f.set(t, f.f32.add(t, f.f32.mul(f.f32.load(f.i32.add(a, f.i32.shl(p, 2))), f.f32.load(f.i32.add(col, f.i32.shl(p, 2)))))));
      f.f32.store(f.i32.add(out, f.i32.shl(j, 2)), t);
    });
    epilogue(f, out, n, flags, bias);
  });
}
