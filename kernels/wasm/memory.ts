// Where the wasm backend's tensors live: one WebAssembly.Memory (shared when the engine allows, so worker
// threads can run kernels on the same bytes), carved up by a size-class allocator.
//
// Allocation works like the WebGPU buffer pool (kernels/webgpu/runtime/pool.ts): a request is rounded up to
// a bucket of 2^k, 1.25·2^k, 1.5·2^k or 1.75·2^k bytes (at least 64), released blocks go onto their bucket's
// free list and are handed out again. Tensors come and go at the rate of one per op with few distinct sizes,
// so exact-size reuse makes fragmentation a non-issue in practice; the heap never shrinks. New blocks come
// from a bump pointer, growing the memory by at least a quarter of its size so growth (which invalidates
// every typed-array view onto the old buffer) is rare. Every block is 16-byte aligned and a multiple of 16
// bytes long, so SIMD kernels may always read and write whole v128s at the end of a storage.
//
// wasm32 addresses are 32 bits: the memory cannot exceed 4 GiB (65536 pages). Past that — or past the
// maximum this heap was created with — alloc throws WasmMemoryLimitError instead of corrupting anything.

export const PAGE_BYTES = 65536;
/** The wasm32 address space: 65536 pages of 64 KiB. */
export const WASM32_MAX_BYTES = 2 ** 32;
export const MIN_BLOCK_BYTES = 64;
/** Blocks start here; address 0 stays unused so a zero pointer is never a live block. */
const HEAP_BASE = 1024;

export class WasmMemoryLimitError extends RangeError {
  override name = 'WasmMemoryLimitError';
}

/** The bucket (block size in bytes) a request of `bytes` is served from. */
export function blockSize(bytes: number): number {
  if (bytes <= MIN_BLOCK_BYTES) return MIN_BLOCK_BYTES;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const quarter = pow / 4;
  return pow + Math.ceil((bytes - pow) / quarter) * quarter;
}

export interface HeapStats {
  /** Bytes of blocks handed out and not yet freed (tensor storages and kernel scratch). */
  bytesInUse: number;
  blocksInUse: number;
  /** Bytes ever carved from the memory (in use + on free lists). */
  bytesAllocated: number;
  /** Current size of the WebAssembly.Memory. */
  memoryBytes: number;
  reused: number;
  created: number;
}

export interface HeapOptions {
  /** Share the memory (SharedArrayBuffer) so worker threads can use it. */
  shared: boolean;
  /** Upper bound in bytes (a multiple of 64 KiB, at most 4 GiB). Default 4 GiB. */
  maximumBytes?: number;
  initialBytes?: number;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly maximumBytes: number;
  private top = HEAP_BASE;
  private readonly free = new Map<number, number[]>();
  private readonly live = new Map<number, number>();
  private readonly counts = { bytesInUse: 0, reused: 0, created: 0 };
  private _f32!: Float32Array;
  private _i32!: Int32Array;
  private _f64!: Float64Array;
  private _u8!: Uint8Array;

  constructor(opts: HeapOptions) {
    const maximumBytes = opts.maximumBytes ?? WASM32_MAX_BYTES;
    if (maximumBytes % PAGE_BYTES !== 0 || maximumBytes > WASM32_MAX_BYTES || maximumBytes < PAGE_BYTES) {
      throw new RangeError(`WasmHeap: maximumBytes must be a multiple of 64 KiB between 64 KiB and 4 GiB, got ${maximumBytes}`);
    }
    this.maximumBytes = maximumBytes;
    this.shared = opts.shared;
    const initialPages = Math.min(maximumBytes, Math.max(PAGE_BYTES, opts.initialBytes ?? 16 * 2 ** 20)) / PAGE_BYTES;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(initialPages), maximum: maximumBytes / PAGE_BYTES, shared: opts.shared } as WebAssembly.MemoryDescriptor);
    this.refreshViews();
  }

  /** Pages, as a module importing this memory must declare them. */
  get limits(): { initialPages: number; maximumPages: number; shared: boolean } {
    return { initialPages: 1, maximumPages: this.maximumBytes / PAGE_BYTES, shared: this.shared };
  }

  // Views are re-created after every growth: a grown memory has a new buffer, and views onto the old one
  // would (shared) not cover the new bytes or (unshared) be detached.
  get f32(): Float32Array { return this._f32; }
  get i32(): Int32Array { return this._i32; }
  get f64(): Float64Array { return this._f64; }
  get u8(): Uint8Array { return this._u8; }

  private refreshViews(): void {
    const buf = this.memory.buffer;
    this._f32 = new Float32Array(buf);
    this._i32 = new Int32Array(buf);
    this._f64 = new Float64Array(buf);
    this._u8 = new Uint8Array(buf);
  }

  get memoryBytes(): number {
    return this._u8.length;
  }

  /** A 16-byte aligned block of at least `bytes` bytes; returns its byte address. Contents are unspecified. */
  alloc(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`WasmHeap.alloc: expected a byte count, got ${bytes}`);
    const size = blockSize(bytes);
    const list = this.free.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) {
      this.counts.reused++;
    } else {
      if (this.top + size > this.maximumBytes) {
        throw new WasmMemoryLimitError(
          `wasm backend: cannot allocate ${fmtBytes(bytes)}: the heap would exceed ${fmtBytes(this.maximumBytes)}` +
            (this.maximumBytes === WASM32_MAX_BYTES ? ' (the 4 GiB wasm32 address space)' : ' (this heap\'s maximum)') +
            `; ${fmtBytes(this.counts.bytesInUse)} are in use — dispose() tensors or use tidy(), or run this on the cpu backend`,
        );
      }
      ptr = this.top;
      this.top += size;
      this.ensure(this.top);
      this.counts.created++;
    }
    this.live.set(ptr, size);
    this.counts.bytesInUse += size;
    return ptr;
  }

  /** Returns a block from alloc(). Freeing an unknown address is a bug in the caller: it throws. */
  free_(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new Error(`WasmHeap.free: ${ptr} is not a live block (double free?)`);
    this.live.delete(ptr);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(ptr);
    this.counts.bytesInUse -= size;
  }

  /** Grows the memory so that byte `end` is addressable. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // grow by at least 25 % so a growing model does not grow (and re-create views) once per tensor
    const want = Math.min(this.maximumBytes, Math.max(end, have + have / 4));
    const pages = Math.ceil((want - have) / PAGE_BYTES);
    try {
      this.memory.grow(pages);
    } catch (e) {
      throw new WasmMemoryLimitError(`wasm backend: the engine refused to grow the memory to ${fmtBytes(have + pages * PAGE_BYTES)} (${(e as Error).message})`);
    }
    this.refreshViews();
  }

  stats(): HeapStats {
    return {
      bytesInUse: this.counts.bytesInUse,
      blocksInUse: this.live.size,
      bytesAllocated: this.top - HEAP_BASE,
      memoryBytes: this.memoryBytes,
      reused: this.counts.reused,
      created: this.counts.created,
    };
  }
}

function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} B`;
}
