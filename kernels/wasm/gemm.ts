// Calling the wasm GEMM (gemm-kernel.ts: blocking, packing and the register-tiled micro-kernel, all in one
// wasm function) on byte addresses in the wasm heap, optionally split over worker threads. Operands may have
// any element strides; C is row-major with leading dimension ldc. Bias and relu are applied by the kernel on
// the last K block; gelu by the caller afterwards.
//
// Threads split C into disjoint slices of whole columns or of whole rows (runBatch says which), a few per
// thread, which the threads take dynamically (threads.ts); a batch of independent products (Winograd's 16)
// goes out as one set of tasks. Every output element is still summed by one lane in the same order as on one
// thread, so threaded results equal single-threaded ones bit for bit (test/wasm/threads.test.ts,
// test/wasm/winograd.test.ts). A may come packed beforehand (packA: convolution weights, cached by the
// backend), which the kernel then reads in place (gemm_packed).
import type { WasmHeap } from './memory';
import type { Tile } from './gemm-kernel';
import { ACCUMULATE, BIAS_BY_COL, BIAS_BY_ROW, KC, RELU, gemmNames, gemmScratchBytes, packedRows } from './gemm-kernel';
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

/** An A matrix packed once by WasmGemm.packA: `mpad` rows (m rounded up to whole panels) per K block. */
export interface PackedA {
  ptr: number;
  mpad: number;
  m: number;
  k: number;
}

export function isPacked(a: GemmOperand | PackedA): a is PackedA {
  return 'mpad' in a;
}

/** One product of WasmGemm.runBatch: C[m×n] (leading dimension ldc) = epilogue(A·B), or += with accumulate. */
export interface GemmProblem {
  m: number;
  n: number;
  k: number;
  A: GemmOperand | PackedA;
  B: GemmOperand;
  C: number;
  ldc: number;
  epi: GemmEpilogue | null;
  accumulate?: boolean;
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
  private readonly packedName: string;
  private readonly gemm: GemmFn;
  private readonly gemmPacked: (...a: number[]) => void;
  private readonly packAFn: (dst: number, a: number, rs: number, cs: number, mc: number, kc: number) => void;
  private readonly packAScaledFn: (dst: number, a: number, rs: number, cs: number, mc: number, kc: number, scale: number) => void;
  /** Per-thread packing scratch: [0] is the calling thread's, [i + 1] worker i's. */
  private readonly scratch: Scratch[] = [];
  /** The same as gemm arguments (pa, pb, tile), appended by the thread that runs a task ([0]: this thread's;
   *  other kernels that take a thread's scratch, as Winograd's transforms, use them too). */
  readonly scratchArgs: number[][];
  /** How many threads (calling thread included) may work on one product. */
  threads = 1;
  /** Products split over more than one thread so far (for tests). */
  parallelCalls = 0;

  constructor(exports: WebAssembly.Exports, private readonly heap: WasmHeap, private readonly tile: Tile, private readonly pool: WasmThreadPool | null) {
    const t = tile;
    this.fnName = gemmNames(t).gemm;
    this.gemm = exports[this.fnName] as GemmFn;
    this.packedName = gemmNames(t).gemmPacked;
    this.gemmPacked = exports[this.packedName] as (...a: number[]) => void;
    this.packAFn = exports[gemmNames(t).packA] as (dst: number, a: number, rs: number, cs: number, mc: number, kc: number) => void;
    this.packAScaledFn = exports[gemmNames(t).packAScaled] as (dst: number, a: number, rs: number, cs: number, mc: number, kc: number, scale: number) => void;
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
   * C += A·B (then the epilogue). k = 0 is the caller's job. A may be packed beforehand (packA).
   */
  run(m: number, n: number, k: number, A: GemmOperand | PackedA, B: GemmOperand, C: number, ldc: number, epi: GemmEpilogue | null, accumulate = false): void {
    this.runBatch([{ m, n, k, A, B, C, ldc, epi, accumulate }]);
  }

  /**
   * Several independent products (disjoint outputs) in one dispatch to the threads: Winograd's 16 products of
   * one convolution cost one wake-up of the workers instead of 16 (~0.1 ms each, bench/wasm-profile.mjs).
   */
  runBatch(problems: GemmProblem[]): void {
    const live = problems.filter((p) => p.m > 0 && p.n > 0);
    if (live.length === 0) return;
    const threads = Math.min(this.threads, 1 + (this.pool?.available ?? 0));
    const macs = live.map((p) => p.m * p.n * p.k);
    const total = macs.reduce((a, b) => a + b, 0);
    if (threads <= 1 || total < PARALLEL_MIN_MACS) {
      for (const p of live) this.call(this.task(p, 0, p.m, 0, p.n), this.scratchArgs[0]);
      return;
    }
    // CHUNKS_PER_THREAD slices per thread over the whole batch, taken dynamically (threads.ts), each problem
    // getting its share by multiply-adds, on whole register tiles so no slice adds edge tiles the product would
    // not have. Which way a product is sliced decides what is packed twice:
    //   - A packed beforehand: by columns, down to one panel each — nothing is packed twice;
    //   - otherwise a column slice packs all of A again and a row slice all of B: slice the dimension whose
    //     other operand is smaller (m·k vs k·n), keeping at least MIN_CHUNK_PANELS panels per column slice so
    //     the A it packs again stays cheap beside its product. (Columns only, as before, left a layer4 1×1
    //     convolution — 2048 rows, 49 columns — as one slice on one thread.)
    const want = Math.min(threads * CHUNKS_PER_THREAD, MAX_TASKS);
    const tasks: Task[] = [];
    live.forEach((p, i) => {
      const packed = isPacked(p.A);
      const colUnits = Math.ceil(p.n / this.nr), rowUnits = Math.ceil(p.m / this.mr);
      const share = Math.max(1, Math.round((want * macs[i]) / total));
      let byCols: boolean;
      if (packed) byCols = colUnits >= Math.min(share, 2) || rowUnits < 2;
      else byCols = p.n >= p.m ? colUnits >= threads * MIN_CHUNK_PANELS || rowUnits < threads : rowUnits < threads;
      const units = byCols ? colUnits : rowUnits;
      const unit = byCols ? this.nr : this.mr;
      const minPer = byCols && !packed ? MIN_CHUNK_PANELS : 1;
      const chunks = Math.max(1, Math.min(share, Math.floor(units / minPer)));
      const per = Math.ceil(units / chunks) * unit;
      const len = byCols ? p.n : p.m;
      for (let lo = 0; lo < len; lo += per) {
        const hi = Math.min(len, lo + per);
        tasks.push(byCols ? this.task(p, 0, p.m, lo, hi) : this.task(p, lo, hi, 0, p.n));
      }
    });
    if (tasks.length > MAX_TASKS) {
      // a batch larger than the pool's task table: in groups (each a full dispatch)
      for (let i = 0; i < tasks.length; i += MAX_TASKS) this.dispatch(tasks.slice(i, i + MAX_TASKS));
    } else this.dispatch(tasks);
  }

  private dispatch(tasks: Task[]): void {
    if (tasks.length === 1) this.call(tasks[0], this.scratchArgs[0]);
    else {
      // a recovered task runs on the main thread with its own scratch
      this.parallelCalls++;
      this.pool!.run(tasks, (t) => this.call(t, this.scratchArgs[0]), this.scratchArgs);
    }
  }

  /** The task computing rows [m0, m1) × columns [n0, n1) of a product; the executing thread appends its scratch. */
  private task(p: GemmProblem, m0: number, m1: number, n0: number, n1: number): Task {
    const { k, A, B, C, ldc, epi } = p;
    const flags = (p.accumulate ? ACCUMULATE : 0) |
      (epi ? (epi.bias ? (epi.biasBy === 'col' ? BIAS_BY_COL : BIAS_BY_ROW) : 0) | (epi.relu ? RELU : 0) : 0);
    const bias = epi?.bias ? epi.bias + 4 * (epi.biasBy === 'col' ? n0 : m0) : 0;
    const b = B.ptr + 4 * n0 * B.cs;
    const c = C + 4 * (m0 * ldc + n0);
    if (isPacked(A)) {
      return { fn: this.packedName, scratch: true, args: [m1 - m0, n1 - n0, k, A.ptr, A.mpad, m0, b, B.rs, B.cs, c, ldc, flags, bias] };
    }
    return { fn: this.fnName, scratch: true, args: [m1 - m0, n1 - n0, k, A.ptr + 4 * m0 * A.rs, A.rs, A.cs, b, B.rs, B.cs, c, ldc, flags, bias] };
  }

  /** Bytes packA needs for an m×k matrix. */
  packedBytes(m: number, k: number): number {
    return 4 * packedRows(m, this.tile) * k;
  }

  /**
   * Packs A[m×k] (any element strides) once, into dst (packedBytes(m, k) bytes), in the layout gemm_packed
   * reads (gemm-kernel.ts, packedRows): every K block's row panels, zero-padded to whole panels; with
   * rowScale (a byte address of m floats) row r is multiplied by rowScale[r] as it is packed.
   */
  packA(A: GemmOperand, m: number, k: number, dst: number, rowScale = 0): PackedA {
    const mpad = packedRows(m, this.tile);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      if (rowScale) this.packAScaledFn(dst + 4 * pc * mpad, A.ptr + 4 * pc * A.cs, A.rs, A.cs, m, kc, rowScale);
      else this.packAFn(dst + 4 * pc * mpad, A.ptr + 4 * pc * A.cs, A.rs, A.cs, m, kc);
    }
    return { ptr: dst, mpad, m, k };
  }

  /**
   * packA from a row-major m×k matrix held in JavaScript memory (Winograd's transformed weights, computed
   * once in double): the same layout, written straight into the heap at dst, with no heap temporary — a
   * temporary per layer would stay on the allocator's free lists of its size class.
   */
  packAFrom(src: Float32Array, m: number, k: number, dst: number): PackedA {
    const mpad = packedRows(m, this.tile);
    const out = this.heap.f32;
    let o = dst / 4;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      for (let ir = 0; ir < mpad; ir += this.mr) {
        for (let p = 0; p < kc; p++) {
          for (let r = 0; r < this.mr; r++) out[o++] = ir + r < m ? src[(ir + r) * k + pc + p] : 0;
        }
      }
    }
    return { ptr: dst, mpad, m, k };
  }

  private call(t: Task, scratch: number[]): void {
    ((t.fn === this.fnName ? this.gemm : this.gemmPacked) as (...a: number[]) => void)(...t.args, ...scratch);
  }
}
