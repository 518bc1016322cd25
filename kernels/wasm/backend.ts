// The wasm backend: tensors live in one WebAssembly.Memory (memory.ts) and the heavy kernels are WebAssembly
// SIMD generated at run time from TypeScript (builder/), with no toolchain and no binary checked in.
//
// What runs where (float32):
//   SIMD (wasm):   matmul and conv2d forward, input and weight gradients (the packed f32x4 GEMM of
//                  gemm-kernel.ts, bias + relu fused into its write-back, gelu as an f32x4 pass over the
//                  output); elementwise add/sub/mul/div/maximum/minimum — contiguous, array–scalar, and the
//                  broadcasts models make (a per-row or per-column operand, read in place: ew2_<op>) — and
//                  neg/abs/sqrt/relu/square/reciprocal/floor/ceil/round (elementwise-kernel.ts); gelu, its
//                  derivative and softmax through f32x4 erf/exp approximations (math-kernel.ts).
//                  Convolutions: 3×3 stride-1 layers as Winograd F(2×2,3×3) where it measured faster
//                  (winograd-kernel.ts: SIMD transforms, the 16 products through the GEMM), the others as
//                  im2col (or the input itself for 1×1 stride 1) + GEMM; either way the weights are packed
//                  for the GEMM once and cached with their storage (packedWeight), BatchNorm's scale folded
//                  in as they are packed (conv2dScaled). Max-pool with horizontal stride 2 four outputs at a
//                  time (conv-kernel.ts).
//   wasm, scalar:  im2col / col2im (stride-1 rows copied a v128 at a time, stride 2 deinterleaved by
//                  shuffles) and the max-pool edges and other geometries (conv-kernel.ts).
//   Scalar (TS):   everything else is a plain loop over Float32Array/Int32Array views of the wasm memory,
//                  using the CPU backend's own formulas (core/scalar-math.ts), so those results equal the
//                  CPU's bit for bit: the other transcendental unary ops (exp, log, tanh, erf, ...), rsqrt,
//                  comparisons, where, clamp, cast, strided copies, reductions (sum accumulates in double),
//                  argmax/argmin, logSoftmax, layerNorm, the max-pool gradient, gather, scatterAdd. Strided
//                  inputs of SIMD ops are first copied to a contiguous scratch block.
//   float64 / int32 storages also live in the wasm memory; every op on them takes the scalar path (float64
//   exists for gradient checks, which run on the CPU backend; matmul/conv use direct loops there).
// Models fold eval-mode BatchNorm into the convolution before it on this backend (foldBatchNorm below,
// models/fold-batchnorm.ts). Per-op time of a Finer-CAM: node bench/wasm-profile.mjs.
//
// Threads: GEMMs of ≥ 2^21 multiply-adds are split over workers sharing the memory (threads.ts): Node
// worker_threads, or Web Workers on a cross-origin isolated page (elsewhere one thread, said once). Not yet:
// SIMD layerNorm/reductions/pool gradients, an implicit-GEMM convolution (packing straight from the image),
// Winograd F(4×4,3×3) (4× fewer multiply-adds than direct instead of 2.25×, at a larger rounding error), a
// GEMV for batch-1 Linear layers (the GEMM computes 4 rows for 1 there: ~2.6 ms of a ResNet-50 Finer-CAM).
import type { Backend, BinaryOp, Conv2dParams, Epilogue, Pool2dParams, ReduceOp, Storage, UnaryOp, View } from '../../core/backend';
import type { DType, TypedArray } from '../../core/dtype';
import { contiguousStrides, isContiguous, numel, poolOutputSize } from '../../core/shape';
import { binaryFns, isComparison, unaryFns, unaryFns64 } from '../../core/scalar-math';
import { ModuleBuilder, detectFeatures } from './builder/index';
import type { HeapStats } from './memory';
import { WasmHeap } from './memory';
import { DEFAULT_TILE, addGemmKernel } from './gemm-kernel';
import type { Tile } from './gemm-kernel';
import { WasmGemm } from './gemm';
import type { GemmEpilogue, GemmProblem, PackedA } from './gemm';
import { BIAS_BY_COL, BIAS_BY_ROW, RELU, addGemvKernels, gemmScratchBytes } from './gemm-kernel';
import { addWinogradKernels, winoRowFloats, winogradWeights } from './winograd-kernel';
import { SIMD_BINARY, SIMD_UNARY, addElementwiseKernels } from './elementwise-kernel';
import { convGeometry, isPointwise } from './conv';
import type { ConvGeometry } from './conv';
import { addConvKernels } from './conv-kernel';
import { addMathKernels } from './math-kernel';
import { forEachOffset, gatherStrided } from '../../core/strided';
import { argReduceRows, maxPool2dBackwardPlanes, maxPool2dPlanes, reduceRows } from '../../core/scalar-loops';
import { WasmThreadPool, defaultWorkerFactory } from './threads';
import type { WorkerFactory } from './threads';
import { nodeBuiltinSync } from '../../core/node-builtins';

const ELEMENT_BYTES: Record<DType, number> = { float32: 4, int32: 4, float64: 8 };

export class WasmBackendError extends Error {
  override name = 'WasmBackendError';
}

let storageSerial = 0;

export class WasmStorage implements Storage {
  released = false;
  /** Distinguishes storages in the packed-weight cache's keys. */
  readonly serial = ++storageSerial;
  constructor(readonly backend: WasmBackend, readonly dtype: DType, readonly size: number, readonly ptr: number) {}
}

export interface WasmBackendOptions {
  /** Use f32x4.relaxed_madd when the engine has it (default true); false forces the mul+add fallback. */
  relaxedSimd?: boolean;
  /** GEMM register tile (default: the measured best, gemm-kernel.ts). */
  tile?: Tile;
  /** Heap limit in bytes (default 4 GiB, the wasm32 maximum). */
  maximumBytes?: number;
  /** Share the memory with worker threads (default: when the engine allows). */
  shared?: boolean;
  /** Threads for the GEMM (calling thread included). Default: the machine's cores (Node's
   *  availableParallelism, a browser's navigator.hardwareConcurrency). */
  threads?: number;
  /** How worker threads are made (default: worker_threads in Node, Web Workers in a browser; tests inject). */
  workerFactory?: WorkerFactory;
}

let warnedSingleThread = false;

/** How conv2d computes a forward convolution: the backend's per-layer choice, or one forced (tests, benches). */
export type ConvAlgorithm = 'auto' | 'gemm' | 'winograd';

/** A weight packed for the GEMM once (gemm.ts packA), kept while its storage lives unchanged. */
interface PackedWeight {
  /** Heap block holding every pack. */
  ptr: number;
  packs: PackedA[];
}


/** One-row products of at least this many multiply-adds take the matrix–vector kernels (matmul). */
const GEMV_MIN_MACS = 1 << 12;
/** Products of at most this many multiply-adds, in a batch, take the direct loop (matmul). */
const TINY_PRODUCT_MACS = 64;

/** Elements per range of a threaded elementwise kernel. */
const POINTWISE_UNIT = 1024;

/** Smallest data-movement kernel (floats moved or compared) split over threads: ~50 µs of one thread. */
const PARALLEL_MIN_MOVES = 1 << 18;

/** The engine lacks WebAssembly SIMD: the wasm backend cannot run here (use 'cpu'). */
export function wasmSimdAvailable(): boolean {
  return detectFeatures().simd;
}

export class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  /** Models fold eval-mode BatchNorm into the convolution before it (models/fold-batchnorm.ts). */
  readonly foldBatchNorm = true;
  readonly heap: WasmHeap;
  /** Whether the GEMM uses f32x4.relaxed_madd (else mul + add). */
  readonly relaxedSimd: boolean;
  readonly tile: Tile;
  private readonly ex: WebAssembly.Exports;
  private readonly gemm: WasmGemm;
  private readonly pool: WasmThreadPool | null;
  private convAlgo: ConvAlgorithm = 'auto';
  /**
   * Convolution weights packed once for the GEMM (im2col path: the weight matrix per group; Winograd: its 16
   * transformed matrices), keyed by the weight's storage and view. A layer's weights were packed again on every
   * call, and by every thread's column slice: up to a third of a layer4 convolution (1M weights against 49
   * output pixels). Entries are freed when the storage is released or written (copyInto), or collected.
   */
  private readonly packedWeights = new WeakMap<WasmStorage, Map<string, PackedWeight>>();
  /** Scale storage → the weight storages whose packs were scaled by it (conv2dScaled). */
  private readonly packedDependents = new WeakMap<WasmStorage, Set<WasmStorage>>();
  private readonly packedCollected = new FinalizationRegistry<number[]>((ptrs) => {
    for (const p of ptrs) this.heap.free_(p);
  });

  constructor(opts: WasmBackendOptions = {}) {
    const feats = detectFeatures();
    if (!feats.simd) throw new WasmBackendError('wasm backend: this JavaScript engine has no WebAssembly SIMD; use the cpu backend');
    this.relaxedSimd = (opts.relaxedSimd ?? true) && feats.relaxedSimd;
    this.tile = opts.tile ?? DEFAULT_TILE;
    this.heap = new WasmHeap({ shared: opts.shared ?? feats.sharedMemory, maximumBytes: opts.maximumBytes });
    const m = new ModuleBuilder(this.heap.limits, { relaxedSimd: this.relaxedSimd });
    addGemmKernel(m, this.tile);
    addElementwiseKernels(m);
    addConvKernels(m);
    addMathKernels(m);
    addWinogradKernels(m);
    addGemvKernels(m);
    const bytes = m.bytes();
    this.ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.heap.memory } }).exports;
    const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
    const cores = nodeBuiltinSync<{ availableParallelism(): number }>('node:os')?.availableParallelism() ?? nav?.hardwareConcurrency ?? 1;
    const threads = Math.max(1, Math.floor(opts.threads ?? cores));
    if (threads > 1 && !this.heap.shared && !warnedSingleThread) {
      // a browser page without cross-origin isolation has no SharedArrayBuffer: workers cannot share tensors
      warnedSingleThread = true;
      console.warn('finercam: the wasm backend runs on one thread here (no shared WebAssembly memory: SharedArrayBuffer needs cross-origin isolation).');
    }
    // Node: worker_threads; browsers: Web Workers (threads.ts), both over the shared memory
    const factory = threads > 1 && this.heap.shared ? (opts.workerFactory ?? defaultWorkerFactory()) : null;
    this.pool = factory ? new WasmThreadPool(bytes, this.heap.memory, threads - 1, factory, Object.keys(this.ex)) : null;
    this.gemm = new WasmGemm(this.ex, this.heap, this.tile, this.pool);
    this.gemm.threads = threads;
  }

  /** Resolves once the worker threads have started (until then products run on the calling thread). */
  async ready(): Promise<void> {
    await this.pool?.started;
  }

  /** Threads for the GEMM, calling thread included (at most 1 + the workers created with the backend). */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`setThreads: n must be an integer ≥ 1, got ${String(n)}`);
    this.gemm.threads = Math.min(n, 1 + (this.pool?.size ?? 0));
  }

  /**
   * Forces how forward convolutions are computed: 'gemm' (im2col, or the input itself for 1×1, + GEMM),
   * 'winograd' (F(2×2,3×3) wherever it applies: 3×3, stride 1, dilation 1, one group) or 'auto' (default: the
   * measured per-layer choice, winogradPays). For tests and benches.
   */
  setConvAlgorithm(a: ConvAlgorithm): void {
    if (a !== 'auto' && a !== 'gemm' && a !== 'winograd') throw new RangeError(`setConvAlgorithm: expected 'auto', 'gemm' or 'winograd', got ${String(a)}`);
    this.convAlgo = a;
  }

  /** Products split over threads so far (for tests). */
  get parallelProducts(): number {
    return this.gemm.parallelCalls;
  }

  getThreads(): number {
    return Math.min(this.gemm.threads, 1 + (this.pool?.available ?? 0));
  }

  /** Stops the worker threads (the backend keeps working on one thread). */
  destroy(): void {
    this.pool?.terminate();
  }

  stats(): HeapStats {
    return this.heap.stats();
  }

  // ---- storage helpers ------------------------------------------------------------------------------------
  private alloc(dtype: DType, size: number): WasmStorage {
    return new WasmStorage(this, dtype, size, this.heap.alloc(size * ELEMENT_BYTES[dtype]));
  }

  private own(s: Storage, what = 'tensor'): WasmStorage {
    if (!(s instanceof WasmStorage) || s.backend !== this) {
      throw new WasmBackendError(`wasm backend: the ${what} lives on '${s.backend.name}', not on this wasm backend; move it with toDevice('wasm') first`);
    }
    if (s.released) throw new WasmBackendError(`wasm backend: the ${what}'s storage was already released (a disposed tensor)`);
    return s;
  }

  /** The heap's typed array for a dtype (fetch after every allocation: growth may replace the buffer). */
  private heapArray(dtype: DType): TypedArray {
    return dtype === 'float32' ? this.heap.f32 : dtype === 'int32' ? this.heap.i32 : this.heap.f64;
  }

  /** A storage's elements as a typed array onto the heap (no copy). */
  data(s: WasmStorage): TypedArray {
    const e = s.ptr / ELEMENT_BYTES[s.dtype];
    return this.heapArray(s.dtype).subarray(e, e + s.size);
  }

  /** Heap element index of the view's element 0. */
  private base(v: View): number {
    const s = this.own(v.storage);
    return s.ptr / ELEMENT_BYTES[s.dtype] + v.offset;
  }

  /** The view's elements in row-major order: a heap subarray when contiguous, else a JS copy. */
  private contiguous(v: View): TypedArray {
    const n = numel(v.shape);
    const b = this.base(v);
    const heap = this.heapArray(v.dtype);
    if (isContiguous(v.shape, v.strides)) return heap.subarray(b, b + n);
    const out = v.dtype === 'float32' ? new Float32Array(n) : v.dtype === 'int32' ? new Int32Array(n) : new Float64Array(n);
    gatherStrided(heap, v.shape, v.strides, b, out);
    return out;
  }

  /**
   * Byte address of the view's elements laid out contiguously: the storage itself when the view is
   * contiguous, else a scratch block (pushed onto `temps`, freed by the caller) filled from the view.
   */
  private contiguousPtr(v: View, temps: WasmStorage[]): number {
    const s = this.own(v.storage);
    if (isContiguous(v.shape, v.strides)) return s.ptr + v.offset * ELEMENT_BYTES[v.dtype];
    const t = this.alloc(v.dtype, numel(v.shape));
    temps.push(t);
    gatherStrided(this.heapArray(v.dtype), v.shape, v.strides, this.base(v), this.data(t));
    return t.ptr;
  }

  private freeAll(temps: WasmStorage[]): void {
    for (const t of temps) this.heap.free_(t.ptr);
  }

  private fromArray(data: TypedArray, dtype: DType): WasmStorage {
    const s = this.alloc(dtype, data.length);
    this.data(s).set(data);
    return s;
  }

  // ---- memory -----------------------------------------------------------------------------------------------
  full(size: number, dtype: DType, value: number): Storage {
    const s = this.alloc(dtype, size);
    this.data(s).fill(value);
    return s;
  }

  upload(data: TypedArray): Storage {
    const dtype: DType = data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64' : 'int32';
    return this.fromArray(data, dtype);
  }

  async read(view: View): Promise<TypedArray> {
    return this.readSync(view);
  }

  readSync(view: View): TypedArray {
    // always a copy: a heap subarray would change under later ops and die when the memory grows
    return this.contiguous(view).slice();
  }

  release(storage: Storage): void {
    const s = this.own(storage);
    s.released = true;
    this.dropPacked(s);
    this.heap.free_(s.ptr);
  }

  /** Frees the packed copies of a storage's weights (it was released or written). */
  private dropPacked(s: WasmStorage): void {
    const dependents = this.packedDependents.get(s);
    if (dependents) {
      this.packedDependents.delete(s);
      for (const w of dependents) this.dropPacked(w);
    }
    const entries = this.packedWeights.get(s);
    if (!entries) return;
    for (const e of entries.values()) this.heap.free_(e.ptr);
    this.packedWeights.delete(s);
    this.packedCollected.unregister(s);
  }

  /**
   * The weight view's packed form for `kind` (scaled per output channel by `scale`, if given), built by
   * `build` into a fresh heap block on first use.
   */
  private packedWeight(w: View, scale: View | null, kind: string, bytes: number, build: (ptr: number) => PackedA[]): PackedA[] {
    const s = this.own(w.storage, 'weight');
    const sc = scale ? this.own(scale.storage, 'scale') : null;
    const key = `${kind} ${w.offset} ${w.shape.join(',')} ${w.strides.join(',')}` + (sc && scale ? ` × ${sc.serial} ${scale.offset} ${scale.strides[0]}` : '');
    let entries = this.packedWeights.get(s);
    const hit = entries?.get(key);
    if (hit) return hit.packs;
    const ptr = this.heap.alloc(bytes);
    const packs = build(ptr);
    if (!entries) {
      entries = new Map();
      this.packedWeights.set(s, entries);
    } else this.packedCollected.unregister(s);
    entries.set(key, { ptr, packs });
    if (sc) {
      const deps = this.packedDependents.get(sc) ?? new Set<WasmStorage>();
      deps.add(s);
      this.packedDependents.set(sc, deps);
    }
    // a storage collected without release() (a tensor never disposed) still frees its packs
    this.packedCollected.register(s, [...entries.values()].map((e) => e.ptr), s);
    return packs;
  }

  // ---- data movement ----------------------------------------------------------------------------------------
  copyInto(src: View, dst: View): void {
    this.dropPacked(this.own(dst.storage)); // a packed weight of it would be stale
    const s = this.contiguous(src).slice(); // src may alias dst's storage
    const d = this.heapArray(dst.dtype);
    forEachOffset(dst.shape, dst.strides, this.base(dst), (off, i) => {
      d[off] = s[i];
    });
  }

  cast(x: View, dtype: DType): Storage {
    const out = this.alloc(dtype, numel(x.shape));
    const src = this.contiguous(x);
    const o = this.data(out);
    if (dtype === 'int32' && x.dtype !== 'int32') for (let i = 0; i < src.length; i++) o[i] = Math.trunc(src[i]);
    else o.set(src);
    return out;
  }

  // ---- elementwise ------------------------------------------------------------------------------------------
  unary(op: UnaryOp, x: View): Storage {
    const n = numel(x.shape);
    const out = this.alloc(x.dtype, n);
    if (x.dtype === 'float32' && op in SIMD_UNARY) {
      const temps: WasmStorage[] = [];
      this.pointwise(`ewu_${op}`, n, this.contiguousPtr(x, temps), out.ptr);
      this.freeAll(temps);
      return out;
    }
    if (x.dtype === 'float32' && (op === 'gelu' || op === 'geluGrad')) {
      // f32x4 erf / exp approximations (math-kernel.ts), within a few ulp of the CPU's double formulas
      const temps: WasmStorage[] = [];
      this.pointwise(`ewu_${op}`, n, this.contiguousPtr(x, temps), out.ptr);
      this.freeAll(temps);
      return out;
    }
    if (op === 'copy') {
      this.data(out).set(this.contiguous(x));
      return out;
    }
    const src = this.contiguous(x);
    const o = this.data(out);
    const f = (x.dtype === 'float64' && unaryFns64[op]) || unaryFns[op];
    for (let i = 0; i < n; i++) o[i] = f(src[i]);
    return out;
  }

  binary(op: BinaryOp, a: View, b: View): Storage {
    const n = numel(a.shape);
    const dtype = isComparison(op) ? (a.dtype === 'float64' ? 'float64' : 'float32') : a.dtype;
    const out = this.alloc(dtype, n);
    if (a.dtype === 'float32' && b.dtype === 'float32' && op in SIMD_BINARY) {
      if (n === 0) return out;
      const plan = binaryPlan(a.shape, a.strides, b.strides);
      if (plan) {
        // broadcast and strided operands straight from their storage (no gathering copy)
        const pa = this.own(a.storage).ptr + 4 * a.offset, pb = this.own(b.storage).ptr + 4 * b.offset;
        if (plan.mode === 0 && plan.rows === 1 && plan.outer === 1) {
          // both contiguous (a residual add): the plain kernel, split over threads when large
          this.pointwise(`ew_${op}`, n, pa, pb, out.ptr);
          return out;
        }
        const fn = this.ex[`ew2_${op}`] as (a: number, b: number, out: number, rows: number, inner: number, ars: number, brs: number, mode: number) => void;
        const slice = plan.rows * plan.inner;
        for (let o = 0; o < plan.outer; o++) {
          fn(pa + 4 * o * plan.aos, pb + 4 * o * plan.bos, out.ptr + 4 * o * slice, plan.rows, plan.inner, plan.ars, plan.brs, plan.mode);
        }
        return out;
      }
      const temps: WasmStorage[] = [];
      const pa = this.contiguousPtr(a, temps);
      const pb = this.contiguousPtr(b, temps);
      this.pointwise(`ew_${op}`, n, pa, pb, out.ptr);
      this.freeAll(temps);
      return out;
    }
    const av = this.contiguous(a);
    const bv = this.contiguous(b);
    const o = this.data(out);
    const f = binaryFns[op];
    for (let i = 0; i < n; i++) o[i] = f(av[i], bv[i]);
    return out;
  }

  binaryScalar(op: BinaryOp, x: View, scalar: number, scalarFirst: boolean): Storage {
    const n = numel(x.shape);
    const dtype = isComparison(op) ? (x.dtype === 'float64' ? 'float64' : 'float32') : x.dtype;
    const out = this.alloc(dtype, n);
    // float32 arithmetic with a scalar that is itself a float32 rounds exactly like the CPU's double
    // arithmetic; any other scalar (0.1, 1/3) must be applied in double to match it
    if (x.dtype === 'float32' && op in SIMD_BINARY && Math.fround(scalar) === scalar) {
      const temps: WasmStorage[] = [];
      const xp = this.contiguousPtr(x, temps);
      this.parallel(`ews_${op}`, Math.ceil(n / POINTWISE_UNIT), POINTWISE_UNIT, (u0, u1) => {
        const i0 = u0 * POINTWISE_UNIT, i1 = Math.min(n, u1 * POINTWISE_UNIT);
        return [xp + 4 * i0, scalar, out.ptr + 4 * i0, i1 - i0, scalarFirst ? 1 : 0];
      });
      this.freeAll(temps);
      return out;
    }
    const xv = this.contiguous(x);
    const o = this.data(out);
    const f = binaryFns[op];
    if (scalarFirst) for (let i = 0; i < n; i++) o[i] = f(scalar, xv[i]);
    else for (let i = 0; i < n; i++) o[i] = f(xv[i], scalar);
    return out;
  }

  where(cond: View, a: View, b: View): Storage {
    const n = numel(cond.shape);
    const out = this.alloc(a.dtype, n);
    const c = this.contiguous(cond);
    const av = this.contiguous(a);
    const bv = this.contiguous(b);
    const o = this.data(out);
    for (let i = 0; i < n; i++) o[i] = c[i] !== 0 ? av[i] : bv[i];
    return out;
  }

  clamp(x: View, lo: number, hi: number): Storage {
    const n = numel(x.shape);
    const out = this.alloc(x.dtype, n);
    const src = this.contiguous(x);
    const o = this.data(out);
    for (let i = 0; i < n; i++) {
      // min(max(v, lo), hi): when lo > hi every element becomes hi, as torch.clamp
      const v = src[i];
      const m = v < lo ? lo : v;
      o[i] = v !== v ? v : m > hi ? hi : m;
    }
    return out;
  }

  // ---- reductions -------------------------------------------------------------------------------------------
  /** The view with `axes` moved last, as a contiguous array of `outer` rows of `inner` elements. */
  private axesLast(x: View, axes: readonly number[]): { data: TypedArray; outer: number; inner: number } {
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...kept, ...axes];
    const data = this.contiguous({ storage: x.storage, dtype: x.dtype, offset: x.offset, shape: perm.map((i) => x.shape[i]), strides: perm.map((i) => x.strides[i]) });
    const inner = numel(axes.map((i) => x.shape[i]));
    return { data, outer: numel(kept.map((i) => x.shape[i])), inner };
  }

  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    const outer = numel(x.shape.filter((_, i) => !axes.includes(i)));
    const out = this.alloc(x.dtype, outer);
    const { data, inner } = this.axesLast(x, axes);
    reduceRows(op, data, outer, inner, this.data(out));
    return out;
  }

  argReduce(op: 'argmax' | 'argmin', x: View, axis: number): Storage {
    const outer = numel(x.shape.filter((_, i) => i !== axis));
    const out = this.alloc('int32', outer);
    const { data, inner } = this.axesLast(x, [axis]);
    argReduceRows(op, data, outer, inner, this.data(out) as Int32Array);
    return out;
  }

  // ---- linear algebra ---------------------------------------------------------------------------------------
  /**
   * Checks the epilogue and returns the GEMM's part of it (bias address, relu) plus whether gelu must follow.
   * The bias is made contiguous (a temp when it is not).
   */
  private prepareEpilogue(op: string, e: Epilogue | undefined, channels: number, dtype: DType, biasBy: 'row' | 'col', temps: WasmStorage[]): { gemm: GemmEpilogue | null; gelu: boolean; bias: View | null } {
    const activation = e?.activation ?? 'none';
    const bias = e?.bias ?? null;
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== channels || bias.dtype !== dtype)) {
      throw new WasmBackendError(`${op}: epilogue bias must be 1-D ${dtype} with ${channels} elements, got ${bias.dtype} [${bias.shape.join(', ')}]`);
    }
    if (activation !== 'none' && activation !== 'relu' && activation !== 'gelu') throw new WasmBackendError(`${op}: unknown epilogue activation ${String(activation)}`);
    if (!bias && activation === 'none') return { gemm: null, gelu: false, bias: null };
    const biasPtr = bias && dtype === 'float32' ? this.contiguousPtr(bias, temps) : 0;
    return { gemm: { bias: biasPtr, biasBy, relu: activation === 'relu' }, gelu: activation === 'gelu', bias };
  }

  /** Scalar epilogue (float64/int32 outputs, K = 0, and gelu after the GEMM): out = act(out + bias). */
  private scalarEpilogue(o: TypedArray, rows: number, cols: number, biasBy: 'row' | 'col', biasOff: number, bias: TypedArray | null, act: ((x: number) => number) | null): void {
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      if (bias) {
        if (biasBy === 'row') for (let c = 0; c < cols; c++) o[base + c] += bias[biasOff + r];
        else for (let c = 0; c < cols; c++) o[base + c] += bias[biasOff + c];
      }
      if (act) for (let c = 0; c < cols; c++) o[base + c] = act(o[base + c]);
    }
  }

  private actFn(dtype: DType, a: 'relu' | 'gelu'): (x: number) => number {
    return (dtype === 'float64' && unaryFns64[a]) || unaryFns[a];
  }

  matmul(a: View, b: View, epilogue?: Epilogue): Storage {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    const out = this.alloc(a.dtype, B * M * N);
    const temps: WasmStorage[] = [];
    const epi = this.prepareEpilogue('matmul', epilogue, N, a.dtype, 'col', temps);
    const act = epilogue?.activation && epilogue.activation !== 'none' ? epilogue.activation : null;
    // a batch of tiny products (Grad-CAM's per-channel pooling as [2048, 1, 7]·[2048, 7, 1]): one direct loop,
    // not B calls of the GEMM with their packing (2048 calls cost ~5 ms of a ResNet-50 Finer-CAM); it sums in
    // double, like the CPU backend
    if (a.dtype !== 'float32' || K === 0 || (B > 1 && M * N * K <= TINY_PRODUCT_MACS)) {
      this.scalarMatmul(a, b, out);
      const biasArr = epi.bias ? this.contiguous(epi.bias) : null;
      const o = this.data(out);
      for (let i = 0; i < B; i++) this.scalarEpilogue(o.subarray(i * M * N, (i + 1) * M * N), M, N, 'col', 0, biasArr, act ? this.actFn(a.dtype, act) : null);
      this.freeAll(temps);
      return out;
    }
    const as = this.own(a.storage), bs = this.own(b.storage);
    // one row times a large matrix: a matrix–vector product (gemm-kernel.ts addGemvKernels)
    const gemv = M === 1 && K * N >= GEMV_MIN_MACS && (a.strides[2] === 1 || K === 1) ? (b.strides[2] === 1 ? 'gemv_rows' : b.strides[1] === 1 ? 'gemv_dots' : null) : null;
    if (gemv) {
      const flags = (epi.gemm?.bias ? BIAS_BY_COL : 0) | (epi.gemm?.relu ? RELU : 0);
      for (let i = 0; i < B; i++) {
        (this.ex[gemv] as (...x: number[]) => void)(as.ptr + 4 * (a.offset + i * a.strides[0]), bs.ptr + 4 * (b.offset + i * b.strides[0]),
          gemv === 'gemv_rows' ? b.strides[1] : b.strides[2], out.ptr + 4 * i * N, K, N, flags, epi.gemm?.bias ?? 0);
      }
      if (epi.gelu) this.geluPass(out);
      this.freeAll(temps);
      return out;
    }
    for (let i = 0; i < B; i++) {
      this.gemm.run(M, N, K,
        { ptr: as.ptr + 4 * (a.offset + i * a.strides[0]), rs: a.strides[1], cs: a.strides[2] },
        { ptr: bs.ptr + 4 * (b.offset + i * b.strides[0]), rs: b.strides[1], cs: b.strides[2] },
        out.ptr + 4 * i * M * N, N, epi.gemm, false);
    }
    if (epi.gelu) this.geluPass(out);
    this.freeAll(temps);
    return out;
  }

  private geluPass(out: WasmStorage): void {
    this.pointwise('ewu_gelu', out.size, out.ptr, out.ptr);
  }

  /**
   * An elementwise kernel fn(...inputs, out, n) over n floats, split over the threads in ranges of whole
   * POINTWISE_UNITs when large (a residual add or relu over layer1's 800K floats); elementwise, so the same
   * result on any number of threads.
   */
  private pointwise(fn: string, n: number, ...ptrs: number[]): void {
    this.parallel(fn, Math.ceil(n / POINTWISE_UNIT), POINTWISE_UNIT, (u0, u1) => {
      const i0 = u0 * POINTWISE_UNIT, i1 = Math.min(n, u1 * POINTWISE_UNIT);
      return [...ptrs.map((p) => p + 4 * i0), i1 - i0];
    });
  }

  /** Direct loops for float64/int32 (and K = 0): sums in double, as the CPU backend. */
  private scalarMatmul(a: View, b: View, out: WasmStorage): void {
    const [B, M, K] = a.shape;
    const N = b.shape[2];
    const A = this.heapArray(a.dtype), Bv = this.heapArray(b.dtype), o = this.data(out);
    const ab = this.base(a), bb = this.base(b);
    const [a0, a1, a2] = a.strides, [b0, b1, b2] = b.strides;
    for (let i = 0; i < B; i++) {
      for (let r = 0; r < M; r++) {
        for (let c = 0; c < N; c++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += A[ab + i * a0 + r * a1 + k * a2] * Bv[bb + i * b0 + k * b1 + c * b2];
          o[(i * M + r) * N + c] = s;
        }
      }
    }
  }

  // ---- convolution and pooling ------------------------------------------------------------------------------
  conv2d(x: View, w: View, p: Conv2dParams, epilogue?: Epilogue): Storage {
    return this.convForward(x, w, null, p, epilogue);
  }

  /**
   * conv2d with w'[o] = f32(scale[o]·w[o]): BatchNorm folded (models/fold-batchnorm.ts) with the scale applied
   * where the weights are packed — once, since the pack is cached — instead of in a folded copy of every
   * weight the model would keep beside the original (~94 MB for ResNet-50). The numbers are those of conv2d
   * on the product tensor, bit for bit (the same float32 products, test/wasm/fold-batchnorm.test.ts).
   */
  conv2dScaled(x: View, w: View, scale: View, p: Conv2dParams, epilogue?: Epilogue): Storage {
    const O = w.shape[0];
    if (scale.shape.length !== 1 || scale.shape[0] !== O || scale.dtype !== w.dtype) {
      throw new WasmBackendError(`conv2dScaled: scale must be 1-D ${w.dtype} with ${O} elements, got ${scale.dtype} [${scale.shape.join(', ')}]`);
    }
    if (w.dtype !== 'float32' || x.dtype !== 'float32') {
      // the scalar paths take the product tensor itself
      const ws = this.alloc(w.dtype, numel(w.shape));
      const src = this.contiguous(w), sv = this.contiguous(scale), o = this.data(ws);
      const per = numel(w.shape) / Math.max(O, 1);
      for (let i = 0; i < o.length; i++) o[i] = src[i] * sv[Math.floor(i / per)];
      try {
        return this.convForward(x, { storage: ws, dtype: w.dtype, shape: w.shape, strides: contiguousStrides(w.shape), offset: 0 }, null, p, epilogue);
      } finally {
        this.release(ws);
      }
    }
    return this.convForward(x, w, scale, p, epilogue);
  }

  /** w's elements (contiguous, row-major), times scale[o] for output channel o when given (float32 products). */
  private scaledWeights(w: View, scale: View | null): Float32Array {
    const src = this.contiguous(w) as Float32Array;
    if (!scale) return src;
    const out = new Float32Array(src.length);
    const sv = this.contiguous(scale);
    const per = src.length / w.shape[0];
    for (let o = 0; o < w.shape[0]; o++) {
      const f = sv[o];
      for (let i = o * per; i < (o + 1) * per; i++) out[i] = Math.fround(src[i] * f);
    }
    return out;
  }

  private convForward(x: View, w: View, scale: View | null, p: Conv2dParams, epilogue?: Epilogue): Storage {
    const g = convGeometry(x.shape, w.shape, p);
    const out = this.alloc(x.dtype, g.N * g.O * g.P);
    const temps: WasmStorage[] = [];
    const epi = this.prepareEpilogue('conv2d', epilogue, g.O, x.dtype, 'row', temps);
    if (x.dtype !== 'float32') {
      this.scalarConv(x, w, p, out);
      const biasArr = epi.bias ? this.contiguous(epi.bias) : null;
      const act = epilogue?.activation && epilogue.activation !== 'none' ? this.actFn(x.dtype, epilogue.activation) : null;
      const o = this.data(out);
      for (let n = 0; n < g.N; n++) this.scalarEpilogue(o.subarray(n * g.O * g.P, (n + 1) * g.O * g.P), g.O, g.P, 'row', 0, biasArr, act);
      this.freeAll(temps);
      return out;
    }
    const xp = this.contiguousPtr(x, temps);
    if (g.K > 0 && g.Og > 0 && this.useWinograd(g, p)) {
      this.winogradConv(xp, w, scale, g, p, epi.gemm, out.ptr, temps);
    } else if (g.K > 0 && g.Og > 0 && g.P > 0) {
      // the weight matrix of each group, packed once (packedWeight)
      const packBytes = this.gemm.packedBytes(g.Og, g.K);
      const wp = this.contiguousPtr(w, temps);
      const sp = scale ? this.contiguousPtr(scale, temps) : 0;
      const packs = this.packedWeight(w, scale, 'gemm', p.groups * packBytes, (ptr) => Array.from({ length: p.groups }, (_, grp) =>
        this.gemm.packA({ ptr: wp + 4 * grp * g.Og * g.K, rs: g.K, cs: 1 }, g.Og, g.K, ptr + grp * packBytes, sp && sp + 4 * grp * g.Og)));
      const pointwise = isPointwise(g, p);
      const cols = pointwise ? null : this.alloc('float32', g.K * g.P);
      if (cols) temps.push(cols);
      for (let n = 0; n < g.N; n++) {
        for (let grp = 0; grp < p.groups; grp++) {
          const xOff = (n * g.C + grp * g.Cg) * g.H * g.W;
          const outPtr = out.ptr + 4 * (n * g.O + grp * g.Og) * g.P;
          const e = epi.gemm ? { ...epi.gemm, bias: epi.gemm.bias ? epi.gemm.bias + 4 * grp * g.Og : 0 } : null;
          let bOperand = { ptr: xp + 4 * xOff, rs: g.P, cs: 1 };
          if (cols) {
            this.im2col(xp + 4 * xOff, cols.ptr, g, p);
            bOperand = { ptr: cols.ptr, rs: g.P, cs: 1 };
          }
          this.gemm.run(g.Og, g.P, g.K, packs[grp], bOperand, outPtr, g.P, e, false);
        }
      }
    } else if (g.K === 0) this.data(out).fill(0);
    if (g.K === 0 && (epi.bias || epi.gemm?.relu || epi.gelu)) {
      const o = this.data(out);
      const biasArr = epi.bias ? this.contiguous(epi.bias) : null;
      const act = epilogue?.activation && epilogue.activation !== 'none' ? this.actFn('float32', epilogue.activation) : null;
      for (let n = 0; n < g.N; n++) this.scalarEpilogue(o.subarray(n * g.O * g.P, (n + 1) * g.O * g.P), g.O, g.P, 'row', 0, biasArr, act);
    } else if (epi.gelu) this.geluPass(out);
    this.freeAll(temps);
    return out;
  }

  /**
   * Whether a forward convolution runs as Winograd F(2×2,3×3) (winograd-kernel.ts): 3×3, stride 1, dilation 1,
   * one group, and rows that fit the thread's scratch; under 'auto' only where it measured faster
   * (bench/wasm-conv-layers.mjs, see winogradPays).
   */
  private useWinograd(g: ConvGeometry, p: Conv2dParams): boolean {
    if (this.convAlgo === 'gemm') return false;
    const applies = g.kh === 3 && g.kw === 3 && p.stride[0] === 1 && p.stride[1] === 1 && p.dilation[0] === 1 && p.dilation[1] === 1 &&
      p.groups === 1 && g.P > 0 && 8 * winoRowFloats(Math.ceil(g.Wo / 2)) * 4 <= gemmScratchBytes(this.tile).pa;
    if (!applies) return false;
    return this.convAlgo === 'winograd' || winogradPays(g);
  }

  /**
   * out = epilogue(conv(x, w)) by Winograd F(2×2,3×3), image by image: the input transform (channels split over
   * threads), the 16 products M[ξ] = U[ξ]·V[ξ] in one batch (gemm.ts runBatch: the threads take whole
   * products and column slices), the output transform with bias and relu (output channels split over threads).
   * U — the transformed weights, packed for the GEMM — is computed once per weight (packedWeight).
   */
  private winogradConv(xp: number, w: View, scale: View | null, g: ConvGeometry, p: Conv2dParams, epi: GemmEpilogue | null, outPtr: number, temps: WasmStorage[]): void {
    const { C, O, H, W, Ho, Wo } = g;
    const th = Math.ceil(Ho / 2), tw = Math.ceil(Wo / 2), T = th * tw;
    const ld = (T + 3 + 3) & ~3; // ≥ T + 3: the transforms' last group of 4 tiles may run 3 past T
    const packBytes = this.gemm.packedBytes(O, C);
    const U = this.packedWeight(w, scale, 'winograd', 16 * packBytes, (ptr) => {
      // in JavaScript memory, not in a heap temporary (gemm.ts packAFrom)
      const u = new Float32Array(16 * O * C);
      winogradWeights(this.scaledWeights(w, scale), O, C, u);
      return Array.from({ length: 16 }, (_, xi) => this.gemm.packAFrom(u.subarray(xi * O * C, (xi + 1) * O * C), O, C, ptr + xi * packBytes));
    });
    const V = this.alloc('float32', 16 * C * ld);
    const M = this.alloc('float32', 16 * O * ld);
    temps.push(V, M);
    const xisV = 4 * C * ld, xisM = 4 * O * ld;
    const wb = winoRowFloats(tw);
    const flags = (epi?.bias ? BIAS_BY_ROW : 0) | (epi?.relu ? RELU : 0);
    for (let n = 0; n < g.N; n++) {
      const x0 = xp + 4 * n * C * H * W;
      this.parallel('wino_input', C, 16 * T, (c0, c1) => [x0 + 4 * c0 * H * W, V.ptr + 4 * c0 * ld, c1 - c0, H, W, p.padding[0], p.padding[1], th, tw, ld, xisV, wb], true);
      const problems: GemmProblem[] = U.map((u, xi) => ({ m: O, n: T, k: C, A: u, B: { ptr: V.ptr + xi * xisV, rs: ld, cs: 1 }, C: M.ptr + xi * xisM, ldc: ld, epi: null }));
      this.gemm.runBatch(problems);
      const y0 = outPtr + 4 * n * O * g.P;
      this.parallel('wino_output', O, 16 * T, (o0, o1) => [M.ptr + 4 * o0 * ld, y0 + 4 * o0 * g.P, epi?.bias ? epi.bias + 4 * o0 : 0, flags, o1 - o0, th, tw, Ho, Wo, ld, xisM], true);
    }
  }

  /**
   * Runs `fn` over units [0, units) split into contiguous ranges, one per thread, when the work (units × cost
   * per unit) is large enough to pay for waking the workers; args(u0, u1) gives a range's arguments. Ranges
   * write disjoint outputs, so the result is the same on any number of threads. With `scratch` the thread
   * running a range appends its scratch blocks (gemm.ts: pa, pb, tile) to the arguments.
   */
  private parallel(fn: string, units: number, costPerUnit: number, args: (u0: number, u1: number) => number[], scratch = false): void {
    const threads = Math.min(this.getThreads(), units);
    const local = (a: number[]) => (this.ex[fn] as (...a: number[]) => void)(...a, ...(scratch ? this.gemm.scratchArgs[0] : []));
    if (threads <= 1 || units * costPerUnit < PARALLEL_MIN_MOVES) {
      local(args(0, units));
      return;
    }
    const per = Math.ceil(units / Math.min(units, threads * 4)); // four ranges per thread, taken dynamically
    const tasks = [];
    for (let u = 0; u < units; u += per) tasks.push({ fn, scratch, args: args(u, Math.min(units, u + per)) });
    this.pool!.run(tasks, (t) => local(t.args), this.gemm.scratchArgs);
  }

  /** im2col of one (image, group) from byte address x into cols (conv-kernel.ts), channels split over threads. */
  private im2col(x: number, cols: number, g: ConvGeometry, p: Conv2dParams): void {
    this.parallel('im2col', g.Cg, g.kh * g.kw * g.P, (c0, c1) => [x + 4 * c0 * g.H * g.W, cols + 4 * c0 * g.kh * g.kw * g.P, c1 - c0,
      g.H, g.W, g.kh, g.kw, g.Ho, g.Wo, p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1]]);
  }

  /** gx += col2im(cols) for one (image, group) (conv-kernel.ts). */
  private col2imAdd(cols: number, gx: number, g: ConvGeometry, p: Conv2dParams): void {
    (this.ex.col2im as (...a: number[]) => void)(cols, gx, g.Cg, g.H, g.W, g.kh, g.kw, g.Ho, g.Wo, p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1]);
  }

  conv2dBackwardInput(gy: View, w: View, p: Conv2dParams, inputShape: readonly number[]): Storage {
    const g = convGeometry(inputShape, w.shape, p);
    if (g.Ho !== gy.shape[2] || g.Wo !== gy.shape[3]) throw new WasmBackendError('conv2dBackwardInput: gradient shape does not match the convolution');
    const gx = this.alloc(gy.dtype, g.N * g.C * g.H * g.W);
    if (gy.dtype !== 'float32') {
      this.scalarConvBackwardInput(gy, w, p, gx, inputShape);
      return gx;
    }
    const temps: WasmStorage[] = [];
    const gyp = this.contiguousPtr(gy, temps);
    const wp = this.contiguousPtr(w, temps);
    const pointwise = isPointwise(g, p);
    const cols = pointwise ? null : this.alloc('float32', g.K * g.P);
    if (cols) temps.push(cols);
    if (!pointwise || g.Og === 0) this.data(gx).fill(0);
    for (let grp = 0; grp < p.groups; grp++) {
      // Wᵀ of this group: element (k, o) of the K×Og matrix is w[grp·Og + o][k]
      const wT = { ptr: wp + 4 * grp * g.Og * g.K, rs: 1, cs: g.K };
      for (let n = 0; n < g.N; n++) {
        const gyOp = { ptr: gyp + 4 * (n * g.O + grp * g.Og) * g.P, rs: g.P, cs: 1 };
        const gxOff = (n * g.C + grp * g.Cg) * g.H * g.W;
        if (g.Og === 0 || g.K === 0) continue;
        if (cols) {
          this.gemm.run(g.K, g.P, g.Og, wT, gyOp, cols.ptr, g.P, null, false);
          this.col2imAdd(cols.ptr, gx.ptr + 4 * gxOff, g, p);
        } else {
          this.gemm.run(g.K, g.P, g.Og, wT, gyOp, gx.ptr + 4 * gxOff, g.P, null, false);
        }
      }
    }
    this.freeAll(temps);
    return gx;
  }

  conv2dBackwardWeight(x: View, gy: View, p: Conv2dParams, weightShape: readonly number[]): Storage {
    const g = convGeometry(x.shape, weightShape, p);
    if (g.Ho !== gy.shape[2] || g.Wo !== gy.shape[3]) throw new WasmBackendError('conv2dBackwardWeight: gradient shape does not match the convolution');
    const gw = this.alloc(x.dtype, g.O * g.K);
    if (x.dtype !== 'float32') {
      this.scalarConvBackwardWeight(x, gy, p, gw, weightShape);
      return gw;
    }
    const temps: WasmStorage[] = [];
    const xp = this.contiguousPtr(x, temps);
    const gyp = this.contiguousPtr(gy, temps);
    const pointwise = isPointwise(g, p);
    const cols = pointwise ? null : this.alloc('float32', g.K * g.P);
    if (cols) temps.push(cols);
    if (g.N === 0 || g.P === 0) this.data(gw).fill(0);
    for (let n = 0; n < g.N; n++) {
      for (let grp = 0; grp < p.groups; grp++) {
        const xOff = (n * g.C + grp * g.Cg) * g.H * g.W;
        let colsPtr = xp + 4 * xOff;
        if (cols) {
          this.im2col(xp + 4 * xOff, cols.ptr, g, p);
          colsPtr = cols.ptr;
        }
        if (g.P === 0 || g.Og === 0 || g.K === 0) continue;
        // colsᵀ: element (q, k) of the P×K matrix is cols[k][q]
        this.gemm.run(g.Og, g.K, g.P, { ptr: gyp + 4 * (n * g.O + grp * g.Og) * g.P, rs: g.P, cs: 1 }, { ptr: colsPtr, rs: 1, cs: g.P },
          gw.ptr + 4 * grp * g.Og * g.K, g.K, null, n > 0);
      }
    }
    this.freeAll(temps);
    return gw;
  }

  // Direct convolution loops for float64/int32 (gradient checks): the same sums as im2col + GEMM, in double.
  private scalarConv(x: View, w: View, p: Conv2dParams, out: WasmStorage): void {
    const g = convGeometry(x.shape, w.shape, p);
    const xs = this.contiguous(x), ws = this.contiguous(w), o = this.data(out);
    this.convLoop(g, p, (n, oc, q, xi, wi) => {
      o[(n * g.O + oc) * g.P + q] += xs[xi] * ws[wi];
    }, () => o.fill(0));
  }

  private scalarConvBackwardInput(gy: View, w: View, p: Conv2dParams, gx: WasmStorage, inputShape: readonly number[]): void {
    const g = convGeometry(inputShape, w.shape, p);
    const gys = this.contiguous(gy), ws = this.contiguous(w), o = this.data(gx);
    this.convLoop(g, p, (n, oc, q, xi, wi) => {
      o[xi] += gys[(n * g.O + oc) * g.P + q] * ws[wi];
    }, () => o.fill(0));
  }

  private scalarConvBackwardWeight(x: View, gy: View, p: Conv2dParams, gw: WasmStorage, weightShape: readonly number[]): void {
    const g = convGeometry(x.shape, weightShape, p);
    const xs = this.contiguous(x), gys = this.contiguous(gy), o = this.data(gw);
    this.convLoop(g, p, (n, oc, q, xi, wi) => {
      o[wi] += xs[xi] * gys[(n * g.O + oc) * g.P + q];
    }, () => o.fill(0));
  }

  /** Visits every (image, out channel, out pixel, input index, weight index) product of a convolution. */
  private convLoop(g: ReturnType<typeof convGeometry>, p: Conv2dParams, fn: (n: number, oc: number, q: number, xi: number, wi: number) => void, init: () => void): void {
    init();
    const [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
    for (let n = 0; n < g.N; n++) for (let oc = 0; oc < g.O; oc++) {
      const grp = Math.floor(oc / g.Og);
      for (let oh = 0; oh < g.Ho; oh++) for (let ow = 0; ow < g.Wo; ow++) {
        const q = oh * g.Wo + ow;
        for (let c = 0; c < g.Cg; c++) for (let i = 0; i < g.kh; i++) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= g.H) continue;
          for (let j = 0; j < g.kw; j++) {
            const iw = ow * sw - pw + j * dw;
            if (iw < 0 || iw >= g.W) continue;
            fn(n, oc, q, ((n * g.C + grp * g.Cg + c) * g.H + ih) * g.W + iw, ((oc * g.Cg + c) * g.kh + i) * g.kw + j);
          }
        }
      }
    }
  }

  maxPool2d(x: View, p: Pool2dParams): { values: Storage; indices: Storage } {
    const [N, C, H, W] = x.shape;
    const [kh, kw] = p.kernelSize, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
    const Ho = poolOutputSize(H, kh, sh, ph, dh, p.ceilMode);
    const Wo = poolOutputSize(W, kw, sw, pw, dw, p.ceilMode);
    const values = this.alloc(x.dtype, N * C * Ho * Wo);
    const indices = this.alloc('int32', N * C * Ho * Wo);
    if (x.dtype === 'float32') {
      const temps: WasmStorage[] = [];
      const xp = this.contiguousPtr(x, temps);
      this.parallel('maxpool', N * C, Ho * Wo * kh * kw, (p0, p1) => [xp + 4 * p0 * H * W, values.ptr + 4 * p0 * Ho * Wo, indices.ptr + 4 * p0 * Ho * Wo, p1 - p0, H, W, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw]);
      this.freeAll(temps);
      return { values, indices };
    }
    const src = this.contiguous(x);
    maxPool2dPlanes(src, N * C, H, W, Ho, Wo, p, this.data(values), this.data(indices) as Int32Array);
    return { values, indices };
  }

  maxPool2dBackward(gy: View, indices: View, inputShape: readonly number[]): Storage {
    const [N, C, H, W] = inputShape;
    const P = gy.shape[2] * gy.shape[3];
    const gx = this.alloc(gy.dtype, N * C * H * W);
    const g = this.contiguous(gy), ix = this.contiguous(indices);
    const o = this.data(gx);
    o.fill(0);
    maxPool2dBackwardPlanes(g, ix, N * C, P, H * W, o);
    return gx;
  }

  // ---- row-wise ---------------------------------------------------------------------------------------------
  softmax(x: View, log: boolean): Storage {
    const n = numel(x.shape);
    const cols = x.shape[x.shape.length - 1];
    const rows = cols === 0 ? 0 : n / cols;
    const out = this.alloc(x.dtype, n);
    if (x.dtype === 'float32' && !log) {
      // f32x4 exp (math-kernel.ts), within a few ulp of the CPU's double formula
      const temps: WasmStorage[] = [];
      (this.ex.softmax_rows as (x: number, out: number, rows: number, cols: number) => void)(this.contiguousPtr(x, temps), out.ptr, rows, cols);
      this.freeAll(temps);
      return out;
    }
    const src = this.contiguous(x), o = this.data(out);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let m = -Infinity;
      for (let c = 0; c < cols; c++) m = Math.max(m, src[base + c]);
      if (m === -Infinity) m = 0; // an all -inf row gives NaN through 0/0, as torch
      let s = 0;
      for (let c = 0; c < cols; c++) s += Math.exp(src[base + c] - m);
      if (log) {
        const ls = Math.log(s);
        for (let c = 0; c < cols; c++) o[base + c] = src[base + c] - m - ls;
      } else {
        for (let c = 0; c < cols; c++) o[base + c] = Math.exp(src[base + c] - m) / s;
      }
    }
    return out;
  }

  layerNorm(x: View, weight: View | null, bias: View | null, eps: number): { y: Storage; mean: Storage; rstd: Storage } {
    const n = numel(x.shape);
    const cols = x.shape[x.shape.length - 1];
    const rows = cols === 0 ? 0 : n / cols;
    const y = this.alloc(x.dtype, n), mean = this.alloc(x.dtype, rows), rstd = this.alloc(x.dtype, rows);
    const src = this.contiguous(x);
    const wv = weight ? this.contiguous(weight) : null;
    const bv = bias ? this.contiguous(bias) : null;
    const yo = this.data(y), mo = this.data(mean), ro = this.data(rstd);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      let s = 0;
      for (let c = 0; c < cols; c++) s += src[base + c];
      const mu = s / cols;
      let v = 0;
      for (let c = 0; c < cols; c++) {
        const d = src[base + c] - mu;
        v += d * d;
      }
      const rs = 1 / Math.sqrt(v / cols + eps); // biased variance, as torch.layer_norm
      mo[r] = mu;
      ro[r] = rs;
      for (let c = 0; c < cols; c++) {
        let val = (src[base + c] - mu) * rs;
        if (wv) val *= wv[c];
        if (bv) val += bv[c];
        yo[base + c] = val;
      }
    }
    return { y, mean, rstd };
  }

  // ---- indexing ---------------------------------------------------------------------------------------------
  gather(x: View, dim: number, index: View): Storage {
    const n = numel(index.shape);
    const out = this.alloc(x.dtype, n);
    const xs = this.heapArray(x.dtype);
    const xb = this.base(x);
    const idx = this.contiguous(index);
    const o = this.data(out);
    const shape = index.shape;
    const rank = shape.length;
    const pos = new Array<number>(rank).fill(0);
    for (let i = 0; i < n; i++) {
      let off = xb;
      for (let d = 0; d < rank; d++) off += (d === dim ? idx[i] : pos[d]) * x.strides[d];
      o[i] = xs[off];
      for (let d = rank - 1; d >= 0; d--) {
        if (++pos[d] < shape[d]) break;
        pos[d] = 0;
      }
    }
    return out;
  }

  scatterAdd(shape: readonly number[], dim: number, index: View, src: View): Storage {
    const out = this.alloc(src.dtype, numel(shape));
    const o = this.data(out);
    o.fill(0);
    const idx = this.contiguous(index);
    const sv = this.contiguous(src);
    const outStrides = contiguousStrides(shape);
    const ishape = index.shape;
    const rank = ishape.length;
    const pos = new Array<number>(rank).fill(0);
    for (let i = 0; i < idx.length; i++) {
      let off = 0;
      for (let d = 0; d < rank; d++) off += (d === dim ? idx[i] : pos[d]) * outStrides[d];
      o[off] += sv[i];
      for (let d = rank - 1; d >= 0; d--) {
        if (++pos[d] < ishape[d]) break;
        pos[d] = 0;
      }
    }
    return out;
  }
}

/**
 * How a binary op over two views of one shape maps onto ew2_<op> (elementwise-kernel.ts): size-1 dimensions
 * dropped, neighbours merged where both operands step through them as one, leaving at most three dimensions
 * — outer (a loop here), rows, inner — where the inner one is contiguous or broadcast (stride 0) in each
 * operand. Null when the views do not fit (then the operands are gathered into contiguous scratch first).
 */
export function binaryPlan(shape: readonly number[], sa: readonly number[], sb: readonly number[]):
  { outer: number; aos: number; bos: number; rows: number; ars: number; brs: number; inner: number; mode: number } | null {
  const dims: [number, number, number][] = []; // innermost first: [size, a stride, b stride]
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const last = dims[dims.length - 1];
    if (last && sa[d] === last[1] * last[0] && sb[d] === last[2] * last[0]) last[0] *= shape[d];
    else dims.push([shape[d], sa[d], sb[d]]);
  }
  if (dims.length === 0) dims.push([1, 1, 1]);
  if (dims.length > 3) return null;
  const [inner, ia, ib] = dims[0];
  const mode = ia === 1 && ib === 1 ? 0 : ia === 1 && ib === 0 ? 1 : ia === 0 && ib === 1 ? 2 : -1;
  if (mode < 0) return null;
  const [rows, ars, brs] = dims[1] ?? [1, 0, 0];
  const [outer, aos, bos] = dims[2] ?? [1, 0, 0];
  return { outer, aos, bos, rows, ars, brs, inner, mode };
}

/**
 * Where Winograd F(2×2,3×3) beat im2col + GEMM on this machine (bench/wasm-conv-layers.mjs; placeholder until
 * measured).
 */
export function winogradPays(g: ConvGeometry): boolean {
  // bench/wasm-conv-layers.mjs --sweep --threads 1 (C = O ∈ {4…64}, sizes 4…56): Winograd won from ~1M
  // multiply-adds up (16→16 at 14×14: 0.03 vs 0.04 ms, 64→64 at 7×7: 0.09 vs 0.15, 64→64 at 56×56: 2.4 vs
  // 5.4), tied around 0.5M, and lost on 4×4 outputs (one 2×2 row of tiles: 64→64 0.07 vs 0.06). Every 3×3
  // stride-1 layer of ResNet-50 takes it: 2.4× less time in total (38.5 vs 92.5 ms, one thread).
  return g.P >= 36 && 9 * g.Cg * g.Og * g.P >= 1 << 20;
}

/** A wasm backend, or null where the engine has no WebAssembly SIMD. */
export async function createWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmBackend | null> {
  if (!wasmSimdAvailable()) return null;
  return new WasmBackend(opts);
}
