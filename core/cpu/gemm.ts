// C[M×N] = A[M×K] · B[K×N], all row-major and contiguous. The loop order is i-k-j so the innermost loop
// streams a row of B and a row of C; four rows of A are handled together so each row of B that is read
// from memory feeds four rows of C (register blocking in JS: a0..a3 stay in registers).
import type { TypedArray } from '../dtype';

export function gemm(M: number, N: number, K: number, A: TypedArray, aOff: number, B: TypedArray, bOff: number, C: TypedArray, cOff: number): void {
  C.fill(0, cOff, cOff + M * N);
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const c0 = cOff + i * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
    const r0 = aOff + i * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K;
    for (let k = 0; k < K; k++) {
      const a0 = A[r0 + k], a1 = A[r1 + k], a2 = A[r2 + k], a3 = A[r3 + k];
      const b = bOff + k * N;
      for (let j = 0; j < N; j++) {
        const bv = B[b + j];
        C[c0 + j] += a0 * bv;
        C[c1 + j] += a1 * bv;
        C[c2 + j] += a2 * bv;
        C[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < M; i++) {
    const c0 = cOff + i * N;
    const r0 = aOff + i * K;
    for (let k = 0; k < K; k++) {
      const a0 = A[r0 + k];
      const b = bOff + k * N;
      for (let j = 0; j < N; j++) C[c0 + j] += a0 * B[b + j];
    }
  }
}
