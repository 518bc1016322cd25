import type { Backend, Storage } from '../../core/backend';
import type { DType, TypedArray } from '../../core/dtype';

export class CpuStorage implements Storage {
  constructor(readonly backend: Backend, readonly data: TypedArray, readonly dtype: DType) {}
  get size(): number {
    return this.data.length;
  }
}
