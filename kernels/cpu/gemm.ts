// C[M×N] = A[M×K] · B[K×N], all row-major and contiguous, for the CPU backend (matmul, conv via im2col).
//
// Three paths by size:
//  - thin products (M or N below the 3×3 register tile, e.g. a matrix-vector product): direct loops, no
//    packing (which would cost as much as the product and waste most of each tile on zero padding);
//  - everything else: the blocked, packed kernel of gemm-kernel.ts (about 4–5 GFLOP/s on one core);
//  - large products (≥ PARALLEL_MIN_MACS multiply-adds) are also split over worker threads when running on
//    Node (workers.ts); in browsers, or with setCpuThreads(1), they stay on the calling thread.
import type { TypedArray } from '../../core/dtype';
import { createGemmKernel } from './gemm-kernel';
import { parallelGemm } from './workers';

const kernel = createGemmKernel();

/**
 * Smallest product (multiply-adds) split over the worker threads. A round trip to a sleeping worker costs
 * ~15 µs and copying the operands into shared memory ~0.15 ns per element (measured here); 2^20
 * multiply-adds take ~0.4 ms on one thread, so at this size the overhead is a few percent of the saving.
 */
export const PARALLEL_MIN_MACS = 1 << 20;

export function gemm(M: number, N: number, K: number, A: TypedArray, aOff: number, B: TypedArray, bOff: number, C: TypedArray, cOff: number): void {
  if (M === 0 || N === 0) return;
  if (M < kernel.mr || N < kernel.nr) {
    thinGemm(M, N, K, A, aOff, B, bOff, C, cOff);
    return;
  }
  if (M * N * K >= PARALLEL_MIN_MACS && parallelGemm(M, N, K, A, aOff, B, bOff, C, cOff, kernel)) return;
  kernel.gemm(M, N, K, A, aOff, K, B, bOff, N, C, cOff, N);
}

/**
 * Few columns (matrix-vector): one dot product per entry of C. Few rows: rows of B scaled by A[i][k] and
 * summed into a double-precision row. Either way C is rounded once, like the packed path.
 */
function thinGemm(M: number, N: number, K: number, A: TypedArray, aOff: number, B: TypedArray, bOff: number, C: TypedArray, cOff: number): void {
  if (N < M) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0, a = aOff + i * K, b = bOff + j; k < K; k++, b += N) s += A[a + k] * B[b];
        C[cOff + i * N + j] = s;
      }
    }
    return;
  }
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const a = A[aOff + i * K + k];
      const b = bOff + k * N;
      for (let j = 0; j < N; j++) row[j] += a * B[b + j];
    }
    C.set(row, cOff + i * N);
  }
}
