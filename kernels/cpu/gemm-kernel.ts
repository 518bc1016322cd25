// The single-threaded blocked matrix product behind the CPU backend's gemm (GotoBLAS-style, in plain JS).
//
//   C[m×n] = A[m×k] · B[k×n]        (row-major, leading dimensions lda/ldb/ldc in elements)
//
// Loop nest, outermost first (sizes chosen for a 32 KiB L1 / 1 MiB L2 core):
//   jc: columns of C in blocks of NC        B block  (KC×NC, f64: 4 MiB at most)  lives in L3/L2
//   pc: the shared dimension in blocks of KC  ─ pack that B block into column panels of NR
//   ic: rows of C in blocks of MC           ─ pack that A block (MC×KC, f64: 240 KiB) into row panels of MR: L2
//   jr: one B panel (KC×NR, 6 KiB): stays in L1 while ...
//   ir: ... every A panel (MR×KC) of the block streams past it through the micro-kernel,
//       which keeps the MR×NR tile of C in local variables for the whole KC loop.
//
// Packing copies the operands into Float64Arrays laid out in exactly the order the micro-kernel reads them
// (p-th step of a panel = MR (or NR) consecutive numbers), zero-padded to whole panels so the kernel never
// branches on edges. Packing to float64 has three benefits in JS: the kernel only ever sees one array type
// (so V8 compiles it once, for float32, float64 and int32 callers alike), loads need no float32→float64
// conversion (V8 computes in doubles anyway), and partial sums are accumulated in double precision. Each
// KC block's tile is rounded into C once (C's own type), so float32 results are at least as accurate as a
// float32-accumulating loop.
//
// This function is also the source of the worker threads' code (workers.ts stringifies it), so it must not
// refer to anything outside its own body — no imports, no module constants.
export interface GemmKernel {
  /** Rows and columns of the register tile: C is computed in mr×nr blocks. */
  readonly mr: number;
  readonly nr: number;
  /** C[m×n] = A[m×k]·B[k×n]; A starts at aOff with row stride lda, likewise B and C. Overwrites C. */
  gemm(
    m: number, n: number, k: number,
    A: ArrayLike<number>, aOff: number, lda: number,
    B: ArrayLike<number>, bOff: number, ldb: number,
    C: { [i: number]: number }, cOff: number, ldc: number,
  ): void;
}

export function createGemmKernel(): GemmKernel {
  // The register tile is 3×3: 9 accumulators + 3 values of B + 1 of A = 13 doubles, which fit V8's x64 register
  // file (16 xmm, one kept as scratch), so the inner loop never spills to the stack. Measured on Zen 4 / V8 11:
  // 3×3 ≈ 4.9 GFLOP/s, 4×3 ≈ 4.6, 4×4 ≈ 4.2 (spills), 4×8 ≈ 4.2.
  const MR = 3; // rows of the register tile
  const NR = 3; // columns of the register tile
  const KC = 256; // depth of a packed block: an NR panel is KC·NR·8 B = 6 KiB (L1)
  const MC = 120; // rows of a packed A block (a whole number of tiles): MC·KC·8 B = 240 KiB (L2)
  const NC = 2048; // columns of a packed B block: KC·NC·8 B = 4 MiB

  // Scratch reused across calls (one set per thread); the B block grows to the largest one seen.
  const packedA = new Float64Array(Math.ceil(MC / MR) * MR * KC);
  let packedB = new Float64Array(0);
  const tile = new Float64Array(MR * NR);

  /** Rows [0, mc) × depth [0, kc) of A (from `off`) into row panels of MR: panel r at r·kc, step p at r·kc + p·MR. */
  function packA(A: ArrayLike<number>, off: number, lda: number, mc: number, kc: number): void {
    let o = 0;
    for (let ir = 0; ir < mc; ir += MR) {
      const rows = Math.min(MR, mc - ir);
      for (let p = 0; p < kc; p++) {
        const src = off + ir * lda + p;
        for (let r = 0; r < MR; r++) packedA[o++] = r < rows ? A[src + r * lda] : 0;
      }
    }
  }

  /** Depth [0, kc) × columns [0, nc) of B (from `off`) into column panels of NR: panel j at j·kc, step p at j·kc + p·NR. */
  function packB(B: ArrayLike<number>, off: number, ldb: number, kc: number, nc: number): void {
    const panels = Math.ceil(nc / NR);
    if (packedB.length < panels * NR * kc) packedB = new Float64Array(panels * NR * kc);
    const pb = packedB;
    let o = 0;
    for (let jr = 0; jr < nc; jr += NR) {
      const cols = nc - jr;
      if (cols >= NR) {
        for (let p = 0, src = off + jr; p < kc; p++, src += ldb) {
          pb[o] = B[src]; pb[o + 1] = B[src + 1]; pb[o + 2] = B[src + 2];
          o += NR;
        }
      } else {
        for (let p = 0, src = off + jr; p < kc; p++, src += ldb) {
          for (let c = 0; c < NR; c++) pb[o++] = c < cols ? B[src + c] : 0;
        }
      }
    }
  }

  /**
   * tile[MR×NR] = (A panel at pa[ia..]) · (B panel at pb[ib..]) over kc steps. The 9 sums stay in locals
   * for the whole loop; `| 0` tells V8 the index arithmetic is int32 so it drops overflow checks.
   */
  function microKernel(kc: number, pa: Float64Array, ia: number, pb: Float64Array, ib: number, t: Float64Array): void {
    let c00 = 0, c01 = 0, c02 = 0;
    let c10 = 0, c11 = 0, c12 = 0;
    let c20 = 0, c21 = 0, c22 = 0;
    const end = (ia + kc * MR) | 0;
    while (ia < end) {
      const b0 = pb[ib], b1 = pb[(ib + 1) | 0], b2 = pb[(ib + 2) | 0];
      let a = pa[ia];
      c00 += a * b0; c01 += a * b1; c02 += a * b2;
      a = pa[(ia + 1) | 0];
      c10 += a * b0; c11 += a * b1; c12 += a * b2;
      a = pa[(ia + 2) | 0];
      c20 += a * b0; c21 += a * b1; c22 += a * b2;
      ia = (ia + MR) | 0;
      ib = (ib + NR) | 0;
    }
    t[0] = c00; t[1] = c01; t[2] = c02;
    t[3] = c10; t[4] = c11; t[5] = c12;
    t[6] = c20; t[7] = c21; t[8] = c22;
  }

  function gemm(
    m: number, n: number, k: number,
    A: ArrayLike<number>, aOff: number, lda: number,
    B: ArrayLike<number>, bOff: number, ldb: number,
    C: { [i: number]: number }, cOff: number, ldc: number,
  ): void {
    if (k === 0) {
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) C[cOff + i * ldc + j] = 0;
      return;
    }
    for (let jc = 0; jc < n; jc += NC) {
      const nc = Math.min(NC, n - jc);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        const first = pc === 0; // the first depth block writes C, later ones add to it
        packB(B, bOff + pc * ldb + jc, ldb, kc, nc);
        for (let ic = 0; ic < m; ic += MC) {
          const mc = Math.min(MC, m - ic);
          packA(A, aOff + ic * lda + pc, lda, mc, kc);
          for (let jr = 0; jr < nc; jr += NR) {
            const cols = Math.min(NR, nc - jr);
            for (let ir = 0; ir < mc; ir += MR) {
              microKernel(kc, packedA, ir * kc, packedB, jr * kc, tile);
              // Write the tile back, clipped at the edges of C.
              const rows = Math.min(MR, mc - ir);
              for (let r = 0; r < rows; r++) {
                const c = cOff + (ic + ir + r) * ldc + jc + jr;
                for (let s = 0; s < cols; s++) {
                  if (first) C[c + s] = tile[r * NR + s];
                  else C[c + s] += tile[r * NR + s];
                }
              }
            }
          }
        }
      }
    }
  }

  return { gemm, mr: MR, nr: NR };
}
