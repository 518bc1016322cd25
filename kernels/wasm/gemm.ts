// Calling the wasm GEMM (gemm-kernel.ts: blocking, packing and the register-tiled micro-kernel, all in one
// wasm function) on byte addresses in the wasm heap, optionally split over worker threads. Operands may have
// any element strides; C is row-major with leading dimension ldc. Bias and relu are applied by the kernel on
// the last K block; gelu by the caller afterwards.
//
// Threads split C into disjoint slices of whole columns (or of whole rows when C is narrow), a few per thread,
// which the threads take dynamically (threads.ts). Every output element is still summed by one lane in the
// same order as on one thread, so threaded results equal single-threaded ones bit for bit
// (test/wasm/threads.test.ts).
import type { WasmHeap } from './memory';
import type { Tile } from './gemm-kernel';
import { ACCUMULATE, BIAS_BY_COL, BIAS_BY_ROW, RELU, gemmNames, gemmScratchBytes } from './gemm-kernel';
import { MAX_TASKS } from './threads';
import type { Task, WasmThreadPool } from './threads';

type GemmFn = (m: number, n: number, k: number, a: number, rsA: number, csA: number, b: number, rsB: number, csB: number,
  c: number, ldc: number, flags: number, bias: number, pa: number, pb: number, tile: number) => void;

export interface GemmEpilogue {
  /** Byte address of the bias (float32), or 0 for none. */
  bias: number;
  /** 'col': bias[j] for column j (matmul), 'row': bias[i] for row i (conv: rows are output channels). */
  biasBy: 'col' | 'row';
  relu: boolean;
}

export interface GemmOperand {
  /** Byte address of element [0][0]. */
  ptr: number;
  /** Element strides of rows and columns. */
  rs: number;
  cs: number;
}

/**
 * Smallest product (multiply-adds) split over threads: a round trip to a waiting worker costs ~50 µs, and
 * 2^21 multiply-adds take ~0.1 ms on one thread at 40 GFLOP/s, so below this the split cannot pay.
 */
export const PARALLEL_MIN_MACS = 1 << 21;
/** Slices per thread for dynamic scheduling (threads.ts): enough that a stalled thread's share is small. */
export const CHUNKS_PER_THREAD = 4;
/** Narrowest column slice, in register panels (nr columns): it packs all of A's rows again. */
export const MIN_CHUNK_PANELS = 4;

interface Scratch {
  pa: number;
  pb: number;
  tile: number;
}

export class WasmGemm {
  readonly mr: number;
  readonly nr: number;
  private readonly fnName: string;
  private readonly gemm: GemmFn;
  /** Per-thread packing scratch: [0] is the calling thread's, [i + 1] worker i's. */
  private readonly scratch: Scratch[] = [];
  /** The same as gemm arguments (pa, pb, tile), appended by the thread that runs a task. */
  private readonly scratchArgs: number[][];
  /** How many threads (calling thread included) may work on one product. */
  threads = 1;
  /** Products split over more than one thread so far (for tests). */
  parallelCalls = 0;

  constructor(exports: WebAssembly.Exports, private readonly heap: WasmHeap, t: Tile, private readonly pool: WasmThreadPool | null) {
    this.fnName = gemmNames(t).gemm;
    this.gemm = exports[this.fnName] as GemmFn;
    this.mr = t.mr;
    this.nr = 4 * t.nv;
    // Scratch lives as long as the backend: allocated once per thread, counted in the heap's bytes in use.
    const bytes = gemmScratchBytes(t);
    for (let i = 0; i < 1 + (pool?.size ?? 0); i++) {
      this.scratch.push({ pa: heap.alloc(bytes.pa), pb: heap.alloc(bytes.pb), tile: heap.alloc(bytes.tile) });
    }
    this.scratchArgs = this.scratch.map((x) => [x.pa, x.pb, x.tile]);
  }

  /**
   * C[m×n] (row-major, leading dimension ldc) = epilogue(A[m×k] · B[k×n]), or with `accumulate`
   * C += A·B (then the epilogue). k = 0 is the caller's job.
   */
  run(m: number, n: number, k: number, A: GemmOperand, B: GemmOperand, C: number, ldc: number, epi: GemmEpilogue | null, accumulate = false): void {
    if (m === 0 || n === 0) return;
    const flags = (accumulate ? ACCUMULATE : 0) |
      (epi ? (epi.bias ? (epi.biasBy === 'col' ? BIAS_BY_COL : BIAS_BY_ROW) : 0) | (epi.relu ? RELU : 0) : 0);
    const bias = epi?.bias ?? 0;
    // a task's arguments without the scratch (pa, pb, tile), which the executing thread appends
    const task = (m0: number, m1: number, n0: number, n1: number): Task => ({
      fn: this.fnName,
      scratch: true,
      args: [
        m1 - m0, n1 - n0, k,
        A.ptr + 4 * m0 * A.rs, A.rs, A.cs,
        B.ptr + 4 * n0 * B.cs, B.rs, B.cs,
        C + 4 * (m0 * ldc + n0), ldc, flags,
        bias ? bias + 4 * (epi!.biasBy === 'col' ? n0 : m0) : 0,
      ],
    });
    const threads = Math.min(this.threads, 1 + (this.pool?.available ?? 0));
    if (threads <= 1 || m * n * k < PARALLEL_MIN_MACS) {
      this.call(task(0, m, 0, n), this.scratchArgs[0]);
      return;
    }
    // CHUNKS_PER_THREAD slices per thread, taken dynamically (threads.ts), on whole register tiles so no slice
    // adds edge tiles the product would not have; a column slice keeps at least MIN_CHUNK_PANELS panels, so
    // the A block it packs again stays cheap beside its product
    const byCols = n >= threads * 2 * this.nr;
    const len = byCols ? n : m;
    const unit = byCols ? this.nr : this.mr;
    const units = Math.ceil(len / unit);
    const chunks = Math.max(1, Math.min(threads * CHUNKS_PER_THREAD, Math.floor(units / (byCols ? MIN_CHUNK_PANELS : 1)), MAX_TASKS));
    const per = Math.ceil(units / chunks) * unit;
    const tasks: Task[] = [];
    for (let lo = 0; lo < len; lo += per) {
      const hi = Math.min(len, lo + per);
      tasks.push(byCols ? task(0, m, lo, hi) : task(lo, hi, 0, n));
    }
    if (tasks.length === 1) this.call(tasks[0], this.scratchArgs[0]);
    // a recovered task runs on the main thread with its own scratch
    else {
      this.parallelCalls++;
      this.pool!.run(tasks, (t) => this.call(t, this.scratchArgs[0]), this.scratchArgs);
    }
  }

  private call(t: Task, scratch: number[]): void {
    (this.gemm as (...a: number[]) => void)(...t.args, ...scratch);
  }
}
