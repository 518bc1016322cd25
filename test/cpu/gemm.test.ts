// The CPU gemm (kernels/cpu/gemm.ts, gemm-kernel.ts, workers.ts) against torch.matmul
// (fixture: test/reference/gemm.py → test/fixtures/gemm/gemm.json), on one thread and split over worker
// threads, for float32, float64 and int32; plus float rounding against a bound, offsets, and a process that
// uses the workers and must still exit on its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { TypedArray } from '../../core/dtype';
import { gemm, PARALLEL_MIN_MACS } from '../../kernels/cpu/gemm';
import { getCpuThreads, parallelGemmCalls, setCpuThreads, startCpuWorkers } from '../../kernels/cpu/workers';

interface Case { M: number; N: number; K: number; what: string; rowSums: number[]; colSums: number[]; weighted: number; C?: number[] }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/gemm/gemm.json', import.meta.url), 'utf8')) as { cases: Case[] };

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;
const TYPES: [string, Ctor][] = [['float32', Float32Array], ['float64', Float64Array], ['int32', Int32Array]];

/** The fixture's integer operands (see test/reference/gemm.py). */
function operands(T: Ctor, M: number, N: number, K: number): { A: TypedArray; B: TypedArray } {
  const A = new T(M * K), B = new T(K * N);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) A[i * K + k] = ((7 * i * i + 3 * k * k + i * k) % 1009) % 13 - 6;
  for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) B[k * N + j] = ((5 * k * k + 2 * j * j + 3 * k * j + j) % 2053) % 13 - 6;
  return { A, B };
}

function checkDigest(c: Case, C: TypedArray, label: string): void {
  const { M, N } = c;
  const rows = new Array<number>(M).fill(0), cols = new Array<number>(N).fill(0);
  let weighted = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const v = C[i * N + j];
      rows[i] += v;
      cols[j] += v;
      weighted += v * ((((31 * i + 17 * j) % 7) + 7) % 7 - 3);
    }
  }
  expect(rows, `${label}: row sums`).toEqual(c.rowSums);
  expect(cols, `${label}: column sums`).toEqual(c.colSums);
  expect(weighted, `${label}: weighted sum`).toBe(c.weighted);
  if (c.C) expect(Array.from(C), `${label}: C`).toEqual(c.C);
}

afterAll(() => setCpuThreads(2));

describe('gemm against torch.matmul (exact integer products)', () => {
  it('on the calling thread', () => {
    setCpuThreads(1);
    const before = parallelGemmCalls();
    for (const c of fixture.cases) {
      for (const [name, T] of TYPES) {
        const { A, B } = operands(T, c.M, c.N, c.K);
        const C = new T(c.M * c.N).fill(99); // gemm overwrites, it does not accumulate
        gemm(c.M, c.N, c.K, A, 0, B, 0, C, 0);
        checkDigest(c, C, `${c.M}×${c.N}×${c.K} (${c.what}) ${name}`);
      }
    }
    expect(parallelGemmCalls()).toBe(before);
    expect(getCpuThreads()).toBe(1);
  });

  it('split over worker threads', () => {
    setCpuThreads(2);
    expect(startCpuWorkers()).toBe(2); // Node ≥ 20.16 (process.getBuiltinModule) and SharedArrayBuffer
    const before = parallelGemmCalls();
    let big = 0;
    for (const c of fixture.cases) {
      if (c.M * c.N * c.K >= PARALLEL_MIN_MACS) big++;
      for (const [name, T] of TYPES) {
        const { A, B } = operands(T, c.M, c.N, c.K);
        const C = new T(c.M * c.N).fill(99);
        gemm(c.M, c.N, c.K, A, 0, B, 0, C, 0);
        checkDigest(c, C, `${c.M}×${c.N}×${c.K} (${c.what}) ${name}, threaded`);
      }
    }
    expect(big).toBeGreaterThanOrEqual(4); // the fixture does contain products big enough to split
    expect(parallelGemmCalls() - before).toBe(big * TYPES.length);
    expect(getCpuThreads()).toBe(2); // and no worker failed along the way
  });
});

describe('gemm on float data', () => {
  const rand = (T: Float32ArrayConstructor | Float64ArrayConstructor, n: number, seed: number): TypedArray => {
    const a = new T(n);
    let s = seed >>> 0;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = s / 2 ** 32 - 0.5;
    }
    return a;
  };

  // Bound for float32: the kernel sums each KC = 256 block in double (error ≪ float32's) and rounds into C
  // once per block, so C carries at most ⌈K/256⌉ + 1 float32 roundings (inputs are exact float32 already),
  // each ≤ 2⁻²⁴ relative to a partial sum, and every partial sum is bounded by Σₖ|a||b|. A kernel that dropped
  // or doubled a single term would be off by about one |a·b| ~ 0.1, far outside this bound.
  it('float32 results stay within ⌈K/256⌉+1 roundings of the exact (double) product', () => {
    setCpuThreads(1);
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 700 }), fc.integer(),
      (M, N, K, seed) => {
        const A = rand(Float32Array, M * K, seed), B = rand(Float32Array, K * N, seed + 1);
        const C = new Float32Array(M * N);
        gemm(M, N, K, A, 0, B, 0, C, 0);
        const rounds = Math.ceil(K / 256) + 1;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let exact = 0, abs = 0;
            for (let k = 0; k < K; k++) {
              exact += A[i * K + k] * B[k * N + j];
              abs += Math.abs(A[i * K + k] * B[k * N + j]);
            }
            const err = Math.abs(C[i * N + j] - exact);
            if (err > rounds * 2 ** -24 * abs * 1.0001) throw new Error(`${M}×${N}×${K}: C[${i}][${j}] off by ${err} (bound ${rounds * 2 ** -24 * abs})`);
          }
        }
      },
    ), { numRuns: 60, seed: 0x6e33 });
  });

  it('threaded results are bitwise identical to single-threaded ones (same blocking of K)', () => {
    for (const [M, N, K] of [[64, 700, 300], [600, 24, 300], [129, 131, 257]]) {
      for (const T of [Float32Array, Float64Array]) {
        const A = rand(T, M * K, M), B = rand(T, K * N, N);
        const one = new T(M * N), two = new T(M * N);
        setCpuThreads(1);
        gemm(M, N, K, A, 0, B, 0, one, 0);
        setCpuThreads(2);
        startCpuWorkers();
        const before = parallelGemmCalls();
        gemm(M, N, K, A, 0, B, 0, two, 0);
        expect(parallelGemmCalls()).toBe(before + 1);
        expect(two).toEqual(one);
      }
    }
  });

  it('reads and writes at offsets, touching nothing else (batched matmul uses them)', () => {
    for (const threads of [1, 2]) {
      setCpuThreads(threads);
      for (const [M, N, K] of [[5, 7, 3], [2, 9, 4], [48, 700, 40]]) {
        const { A, B } = operands(Float64Array, M, N, K);
        const A2 = new Float64Array(M * K + 10).fill(1e9), B2 = new Float64Array(K * N + 20).fill(1e9);
        A2.set(A, 3);
        B2.set(B, 11);
        const C = new Float64Array(M * N + 8).fill(-7);
        gemm(M, N, K, A2, 3, B2, 11, C, 5);
        const ref = new Float64Array(M * N);
        gemm(M, N, K, A, 0, B, 0, ref, 0);
        expect(Array.from(C.subarray(5, 5 + M * N))).toEqual(Array.from(ref));
        expect([...C.subarray(0, 5), ...C.subarray(5 + M * N)]).toEqual(new Array(8).fill(-7));
        const c = fixture.cases.find((x) => x.M === M && x.N === N && x.K === K);
        if (c) checkDigest(c, ref, `${M}×${N}×${K}`);
      }
    }
  });
});

describe('worker threads', () => {
  it('setCpuThreads checks its argument', () => {
    expect(() => setCpuThreads(0)).toThrow(/setCpuThreads: n must be an integer ≥ 1, got 0/);
    expect(() => setCpuThreads(1.5)).toThrow(/setCpuThreads: n must be an integer ≥ 1, got 1.5/);
    expect(() => setCpuThreads('2' as never)).toThrow(/setCpuThreads: n must be an integer ≥ 1, got 2/);
  });

  it('a process that used the workers exits by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'finercam-gemm-'));
    try {
      const root = fileURLToPath(new URL('../../', import.meta.url));
      const entry = join(dir, 'entry.ts');
      writeFileSync(entry, [
        `import { gemm } from ${JSON.stringify(join(root, 'kernels/cpu/gemm.ts'))};`,
        `import { parallelGemmCalls, startCpuWorkers } from ${JSON.stringify(join(root, 'kernels/cpu/workers.ts'))};`,
        'startCpuWorkers();',
        'const n = 128, A = new Float32Array(n * n).fill(1), C = new Float32Array(n * n);',
        'gemm(n, n, n, A, 0, A, 0, C, 0);',
        'console.log(JSON.stringify({ calls: parallelGemmCalls(), c: C[n * n - 1] }));',
      ].join('\n'));
      await build({ entryPoints: [entry], outfile: join(dir, 'out.mjs'), bundle: true, format: 'esm', platform: 'neutral', external: ['node:*'], logLevel: 'silent' });
      // execFileSync throws on a timeout: a worker keeping the process alive would fail here.
      const out = execFileSync(process.execPath, [join(dir, 'out.mjs')], { timeout: 20_000, encoding: 'utf8', env: { ...process.env, FINERCAM_CPU_THREADS: '2' } });
      expect(JSON.parse(out)).toEqual({ calls: 1, c: 128 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
