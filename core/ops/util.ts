// Small helpers every op file uses: wrapping kernel results, argument checks, device agreement.
import type { Backend, Storage } from '../backend';
import type { DType } from '../dtype';
import { Tensor } from '../tensor';
import { fmtShape } from '../shape';

export function wrap(storage: Storage, shape: readonly number[], dtype?: DType): Tensor {
  return new Tensor(storage, shape, undefined, 0, dtype ?? storage.dtype);
}

/** Throws unless x is a live Tensor; names the op and the argument. */
export function checkTensor(x: unknown, op: string, arg: string): Tensor {
  if (!(x instanceof Tensor)) {
    throw new TypeError(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  x.assertAlive(`${op}: ${arg}`);
  return x;
}

/** The backend all tensor arguments live on (they must agree). */
export function backendOf(op: string, ...named: [string, Tensor | null | undefined][]): Backend {
  let first: [string, Tensor] | null = null;
  for (const [name, t] of named) {
    if (!t) continue;
    if (!first) first = [name, t];
    else if (t.backend !== first[1].backend) {
      throw new Error(`${op}: ${first[0]} is on ${first[1].device} but ${name} is on ${t.device}; move them to one device first`);
    }
  }
  if (!first) throw new Error(`${op}: no tensor arguments`);
  return first[1].backend;
}

export function checkFloat(t: Tensor, op: string, arg: string): void {
  if (t.dtype === 'int32') throw new TypeError(`${op}: ${arg} must be a floating-point tensor, got int32`);
}

export function checkRank(t: Tensor, rank: number | number[], op: string, arg: string, meaning = ''): void {
  const ok = typeof rank === 'number' ? t.rank === rank : rank.includes(t.rank);
  if (!ok) {
    throw new Error(`${op}: ${arg} must have ${typeof rank === 'number' ? rank : rank.join(' or ')} dimensions${meaning ? ` (${meaning})` : ''}, got shape ${fmtShape(t.shape)}`);
  }
}

export function checkFinite(v: unknown, op: string, arg: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${op}: ${arg} must be a finite number, got ${String(v)}`);
  return v;
}
