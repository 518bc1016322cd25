// What every kernel family needs from the backend: the runtime and fresh output storages.
import type { View } from '../../../core/backend';
import type { DType } from '../../../core/dtype';
import type { Runtime } from './runtime';
import { GpuStorage } from './storage';

export interface Host {
  readonly rt: Runtime;
  /** A fresh storage of `size` elements (contents undefined). */
  alloc(dtype: DType, size: number, op: string): GpuStorage;
  /** Returns a temporary storage to the pool. */
  release(storage: GpuStorage): void;
}

/** The GPU buffer behind a view, with a clear error for storages of another backend. */
export function bufferOf(view: View, op: string): GPUBuffer {
  const s = view.storage;
  if (!(s instanceof GpuStorage)) {
    throw new TypeError(`WebGPU backend: ${op} got a storage of the '${s.backend.name}' backend; move the tensor to 'webgpu' first`);
  }
  return s.buffer;
}
