// The shared machinery of the optimizers (torch.optim): a fixed list of parameters, zeroGrad(), and a step()
// that updates each parameter that has a gradient, without recording autograd, in place — the parameter
// Tensor object keeps its identity (modules hold references to it) and is pointed at the new values with
// replaceStorage. Per-parameter state (momentum buffers, moments) is owned by the optimizer and survives
// tidy() scopes; dispose() frees it.
//
// Other views that share a parameter's storage (e.g. a slice taken before the step) keep the old values:
// unlike torch's in-place kernels, an update makes new storage rather than writing into the old one.
import { Tensor } from '../tensor';
import { keep, tidy } from '../scope';
import { noGrad } from '../grad-mode';
import { isFloat } from '../dtype';
import { fmtShape } from '../shape';
import { wrap } from '../ops/util';
import { zerosLike } from '../ops/creation';

export abstract class Optimizer<S extends object> {
  /** The parameters, in the order given. */
  readonly params: readonly Tensor[];
  private readonly state = new Map<Tensor, S>();
  private disposed = false;

  protected constructor(readonly name: string, params: Iterable<Tensor>) {
    if (params === null || typeof params !== 'object' || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${name}: params must be an array (or iterable) of Tensors, got ${describe(params)}`);
    }
    const list = [...params];
    if (list.length === 0) throw new Error(`${name}: params is empty; give it at least one Tensor to optimize`);
    const seen = new Set<Tensor>();
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${name}: params[${i}] must be a Tensor, got ${describe(p)}`);
      if (!p.isLeaf) throw new Error(`${name}: params[${i}] (shape ${fmtShape(p.shape)}) is not a leaf tensor; optimize the tensors you created, not results of ops`);
      if (!isFloat(p.dtype)) throw new TypeError(`${name}: params[${i}] has dtype ${p.dtype}; only floating-point tensors can be optimized`);
      if (seen.has(p)) throw new Error(`${name}: params[${i}] appears more than once in params`);
      seen.add(p);
    });
    this.params = Object.freeze(list);
  }

  /**
   * Clears the gradients of all parameters. With setToNone (the default, as torch ≥ 2.0) .grad becomes null
   * and the old gradient tensor is disposed; otherwise it is replaced by zeros (torch 1.x's default). The
   * difference matters to step(): a parameter whose .grad is null is skipped, one with a zero gradient is not
   * (momentum and Adam keep moving it).
   */
  zeroGrad(setToNone = true): void {
    this.assertAlive('zeroGrad');
    for (const p of this.params) {
      if (!p.grad) continue;
      const old = p.grad;
      p.grad = setToNone ? null : keep(noGrad(() => zerosLike(old)));
      old.dispose();
    }
  }

  /** One optimization step over every parameter that has a gradient. */
  step(): void {
    this.assertAlive('step');
    noGrad(() => tidy(() => {
      for (const p of this.params) {
        const g = p.grad;
        if (g === null) continue;
        if (g.dtype !== p.dtype || g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
          throw new Error(`${this.name}.step: the gradient of a parameter of shape ${fmtShape(p.shape)} (${p.dtype}) has shape ${fmtShape(g.shape)} (${g.dtype})`);
        }
        let s = this.state.get(p);
        if (!s) {
          s = this.initState(p);
          this.state.set(p, s);
        }
        this.update(p, g, s);
      }
    }));
  }

  /** The optimizer's state for a parameter (undefined before its first update). For inspection and tests. */
  stateOf(param: Tensor): Readonly<S> | undefined {
    return this.state.get(param);
  }

  /** Frees the state tensors. The optimizer cannot be used afterwards; the parameters are untouched. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.state.values()) {
      for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    }
    this.state.clear();
  }

  protected abstract initState(p: Tensor): S;

  /** Computes the new values of p (and of its state) from its gradient g; runs under noGrad inside a tidy(). */
  protected abstract update(p: Tensor, g: Tensor, state: S): void;

  private assertAlive(what: string): void {
    if (this.disposed) throw new Error(`${this.name}.${what}: this optimizer was disposed`);
  }
}

/** Points `target` (a parameter or a state tensor) at the values of `value` — same shape — in place. */
export function assign(target: Tensor, value: Tensor): void {
  target.replaceStorage(value.storageRef, value.strides, value.offset);
}

/** A state tensor that outlives the step's tidy scope. */
export function stateTensor(t: Tensor): Tensor {
  return keep(t);
}

/** A copy with its own storage (for state initialised from a gradient, which must not alias it). */
export function clone(t: Tensor): Tensor {
  return wrap(t.backend.unary('copy', t), t.shape, t.dtype);
}

// ---- option checking ----

export function checkOptions(name: string, opts: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${name}: options must be an object, got ${describe(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new TypeError(`${name}: unknown option '${k}' (expected one of ${allowed.join(', ')})`);
  }
  return opts as Record<string, unknown>;
}

/** A finite number ≥ min (and < max when given). */
export function checkNumber(name: string, arg: string, v: unknown, min: number, max?: number): number {
  const range = max === undefined ? `≥ ${min}` : `in [${min}, ${max})`;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (max !== undefined && v >= max)) {
    throw new RangeError(`${name}: ${arg} must be a finite number ${range}, got ${describe(v)}`);
  }
  return v;
}

export function checkBool(name: string, arg: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name}: ${arg} must be true or false, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return v.toString();
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v;
}
