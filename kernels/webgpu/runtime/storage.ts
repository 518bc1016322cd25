// A WebGPU storage: `size` elements of one dtype in a pooled GPUBuffer. The buffer may be larger than the
// storage (pool buckets, always a whole number of vec4s); kernels only ever write within the buffer.
import type { Backend, Storage } from '../../../core/backend';
import type { DType } from '../../../core/dtype';

export class GpuStorage implements Storage {
  private _buffer: GPUBuffer | null;

  constructor(
    readonly backend: Backend,
    readonly dtype: DType,
    readonly size: number,
    buffer: GPUBuffer,
  ) {
    this._buffer = buffer;
  }

  get buffer(): GPUBuffer {
    if (!this._buffer) throw new Error('WebGPU backend: this storage was already released');
    return this._buffer;
  }

  get released(): boolean {
    return this._buffer === null;
  }

  /** Detaches the buffer (the backend returns it to the pool). */
  take(): GPUBuffer | null {
    const b = this._buffer;
    this._buffer = null;
    return b;
  }
}
