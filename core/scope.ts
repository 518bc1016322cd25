// tidy(): a scope that frees every tensor created inside it except those returned. The WebGPU backend
// cannot rely on garbage collection to free device memory, so lifetimes are explicit and predictable.
import type { Tensor } from './tensor';

const scopes: Set<Tensor>[] = [];

export function trackTensor(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}

export function untrackTensor(t: Tensor): void {
  for (const s of scopes) s.delete(t);
}

/** Exempts tensors from the enclosing tidy scopes (they live until disposed). */
export function keep<T extends Tensor>(t: T): T {
  untrackTensor(t);
  return t;
}

function collect(value: unknown, out: Set<Tensor>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ((value as { __isTensor?: boolean }).__isTensor) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, seen);
  }
}

/**
 * Runs fn; disposes every tensor created during it except the ones found in its result (a tensor, or
 * arrays / plain objects / Maps containing tensors). Those move to the enclosing scope.
 * An async fn is rejected: the scope would close before the work finishes.
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('tidy: expected a function');
  const scope = openScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(scope, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    closeScope(scope, undefined);
    throw new TypeError('tidy: fn returned a Promise; tidy only works with synchronous functions');
  }
  return closeScope(scope, result);
}

/**
 * tidy for asynchronous work (a CAM pass awaits reads between its kernels): disposes every tensor created
 * while fn runs, except those in its result. Scopes are a stack shared by all code, so do not run two
 * tidyAsync calls concurrently — tensors made by one would be attributed to the other.
 */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof fn !== 'function') throw new TypeError('tidyAsync: expected an async function');
  const scope = openScope();
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    closeScope(scope, undefined);
    throw e;
  }
  return closeScope(scope, result);
}

function openScope(): Set<Tensor> {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  return scope;
}

/** Removes the scope from the stack (wherever it is: async scopes may close out of order) and disposes
 *  its tensors except those found in `result`, which move to the enclosing scope. */
function closeScope<T>(scope: Set<Tensor>, result: T): T {
  const i = scopes.lastIndexOf(scope);
  if (i >= 0) scopes.splice(i, 1);
  const kept = new Set<Tensor>();
  collect(result, kept, new Set());
  for (const t of scope) {
    if (kept.has(t)) trackTensor(t);
    else t.dispose();
  }
  return result;
}
