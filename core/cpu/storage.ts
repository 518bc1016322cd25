import type { Backend, Storage } from '../backend';
import type { DType, TypedArray } from '../dtype';

export class CpuStorage implements Storage {
  constructor(readonly backend: Backend, readonly data: TypedArray, readonly dtype: DType) {}
  get size(): number {
    return this.data.length;
  }
}
