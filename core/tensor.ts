// The Tensor: a view (shape, strides, offset) onto a reference-counted storage owned by a backend, plus
// the autograd fields. Op methods (x.add(y), x.sum(), ...) are attached in tensor-methods.ts so this file
// stays about data and lifetime.
import type { Backend, Storage, View } from './backend';
import type { DType, TypedArray } from './dtype';
import { isFloat } from './dtype';
import { contiguousStrides, fmtShape, isContiguous, numel } from './shape';
import { trackTensor, untrackTensor } from './scope';
import type { Node } from './autograd';

/** Several views may share one storage; it is released when the last of them is. */
export class StorageRef {
  refs = 0;
  constructor(readonly storage: Storage) {}
}

export type GradHook = (grad: Tensor) => Tensor | void;

export interface HookHandle {
  remove(): void;
}

let nextId = 1;

/** > 0 while autograd runs a backward rule: the tensors an op saved stay usable after dispose(). */
let savedAccess = 0;

/** Runs fn (a backward rule) with disposed tensors that are still saved for backward readable. */
export function withSavedTensors<T>(fn: () => T): T {
  savedAccess++;
  try {
    return fn();
  } finally {
    savedAccess--;
  }
}

export class Tensor implements View {
  readonly __isTensor = true;
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** The gradient accumulated by backward() (leaves only, as torch). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor, or null for leaves and tensors made without grad. */
  gradFn: Node | null = null;
  /** Gradient hooks of a leaf (non-leaf hooks live on gradFn). */
  leafHooks: GradHook[] = [];
  private _requiresGrad = false;
  private _ref: StorageRef;
  private _disposed = false;
  /** How many autograd nodes saved this tensor for backward: storage stays until they are done. */
  private _savedBy = 0;

  constructor(ref: StorageRef | Storage, shape: readonly number[], strides?: readonly number[], offset = 0, dtype?: DType) {
    this._ref = ref instanceof StorageRef ? ref : new StorageRef(ref);
    this._ref.refs++;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = dtype ?? this._ref.storage.dtype;
    // An own enumerable accessor, not a class getter: kernels build derived views with `{ ...view, shape }`,
    // and object spread copies own enumerable properties only.
    Object.defineProperty(this, 'storage', {
      enumerable: true,
      get: (): Storage => {
        if (this._disposed && this._savedBy === 0) throw this.disposedError('storage');
        return this._ref.storage;
      },
    });
    trackTensor(this);
  }

  /** The storage this view reads (see the constructor for why it is an own property). */
  declare readonly storage: Storage;

  /** Shares this tensor's storage with a new view. */
  get storageRef(): StorageRef {
    this.assertAlive('view');
    return this._ref;
  }

  get backend(): Backend {
    return this._ref.storage.backend;
  }

  get device(): 'cpu' | 'webgpu' | 'wasm' {
    return this._ref.storage.backend.name;
  }

  get rank(): number {
    return this.shape.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return numel(this.shape);
  }

  numel(): number {
    return numel(this.shape);
  }

  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(v: boolean) {
    if (v && !isFloat(this.dtype)) {
      throw new TypeError(`requiresGrad: only floating-point tensors can require gradients, this one is ${this.dtype} ${fmtShape(this.shape)}`);
    }
    if (!v && this.gradFn !== null) {
      throw new Error('requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach()');
    }
    this._requiresGrad = v;
  }

  /** Sets requiresGrad and returns this, like torch's requires_grad_(). */
  requiresGrad_(v = true): this {
    this.requiresGrad = v;
    return this;
  }

  assertAlive(what: string): void {
    if (this._disposed && !(savedAccess > 0 && this._savedBy > 0)) throw this.disposedError(what);
  }

  private disposedError(what: string): Error {
    return new Error(`${what}: tensor #${this.id} of shape ${fmtShape(this.shape)} was disposed and cannot be used`);
  }

  /** The elements in row-major order (Float32Array, Float64Array or Int32Array by dtype). */
  async data(): Promise<TypedArray> {
    this.assertAlive('data()');
    return this.backend.read(this);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    this.assertAlive('item()');
    if (this.size !== 1) throw new Error(`item(): expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return (await this.data())[0];
  }

  /** Nested arrays, like torch's tolist(). */
  async tolist(): Promise<unknown> {
    const d = await this.data();
    const build = (dim: number, off: number): unknown => {
      if (dim === this.rank) return d[off];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** A tensor sharing this storage, cut from the graph. */
  detach(): Tensor {
    this.assertAlive('detach()');
    return new Tensor(this._ref, this.shape, this.strides, this.offset, this.dtype);
  }

  /** Frees this view; the storage goes once no view and no saved-for-backward reference needs it. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    untrackTensor(this);
    if (this.gradFn) {
      const node = this.gradFn;
      node.release();
    }
    if (this._savedBy === 0) this.releaseStorage();
  }

  /** Called by autograd nodes that need this tensor's values in backward. */
  retainForBackward(): void {
    this._savedBy++;
  }

  releaseForBackward(): void {
    this._savedBy--;
    if (this._savedBy === 0 && this._disposed) this.releaseStorage();
  }

  private releaseStorage(): void {
    this._ref.refs--;
    if (this._ref.refs === 0) this._ref.storage.backend.release(this._ref.storage);
  }

  /** Internal: point this tensor at new contents of the same shape (optimizer steps, module.to). */
  replaceStorage(ref: StorageRef | Storage, strides?: readonly number[], offset = 0): void {
    this.assertAlive('replaceStorage');
    const next = ref instanceof StorageRef ? ref : new StorageRef(ref);
    next.refs++;
    this.releaseStorage();
    this._ref = next;
    (this as { strides: readonly number[] }).strides = Object.freeze(strides ? [...strides] : contiguousStrides(this.shape));
    (this as { offset: number }).offset = offset;
  }

  registerHook(fn: GradHook): HookHandle {
    if (typeof fn !== 'function') throw new TypeError('registerHook: expected a function (grad) => Tensor | void');
    if (!this.requiresGrad) throw new Error("registerHook: cannot register a hook on a tensor that doesn't require gradients");
    const list = this.gradFn ? this.gradFn.hooks : this.leafHooks;
    list.push(fn);
    return {
      remove: () => {
        const i = list.indexOf(fn);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  toString(): string {
    return `Tensor(shape=${fmtShape(this.shape)}, dtype=${this.dtype}, device=${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
