// A size-bucketed pool of GPU buffers.
//
// Tensors come and go at a high rate (every op makes a fresh output), and creating GPU buffers is slow, so
// released buffers go onto a free list keyed by their bucket size and are handed out again. Bucket sizes are
// 2^k, 1.25·2^k, 1.5·2^k and 1.75·2^k bytes (at least 256): a request wastes at most 25 %, and every size is a
// multiple of 16 bytes, so kernels may always read and write whole vec4s at the end of a storage.
//
// Stats: `bytesAllocated` counts every live GPUBuffer the pool created (in use or free); `bytesInUse` only
// those handed out and not yet returned. The pool never shrinks on its own; `trim()` destroys the free ones.

export const MIN_BUCKET_BYTES = 256;

/** The bucket a request of `bytes` is served from. */
export function bucketSize(bytes: number): number {
  if (bytes <= MIN_BUCKET_BYTES) return MIN_BUCKET_BYTES;
  const pow = 2 ** Math.floor(Math.log2(bytes));
  const quarter = pow / 4;
  return pow + Math.ceil((bytes - pow) / quarter) * quarter;
}

export interface PoolStats {
  bytesAllocated: number;
  bytesInUse: number;
  buffersAllocated: number;
  buffersInUse: number;
  /** Requests served from the free lists. */
  reused: number;
  /** Requests that had to create a GPUBuffer. */
  created: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly stats: PoolStats = { bytesAllocated: 0, bytesInUse: 0, buffersAllocated: 0, buffersInUse: 0, reused: 0, created: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly label: string,
  ) {}

  /** A buffer of at least `bytes` bytes (its `size` is the bucket size). */
  acquire(bytes: number): GPUBuffer {
    const size = bucketSize(bytes);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.stats.reused++;
    } else {
      buf = this.device.createBuffer({ size, usage: this.usage, label: `${this.label}:${size}` });
      this.stats.bytesAllocated += size;
      this.stats.buffersAllocated++;
      this.stats.created++;
    }
    this.stats.bytesInUse += size;
    this.stats.buffersInUse++;
    return buf;
  }

  /** Returns a buffer; the caller guarantees no queued work that still uses it will be submitted later. */
  release(buf: GPUBuffer): void {
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.stats.bytesInUse -= size;
    this.stats.buffersInUse--;
  }

  /** Destroys every free buffer. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.bytesAllocated -= b.size;
        this.stats.buffersAllocated--;
        b.destroy();
      }
    }
    this.free.clear();
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }
}
