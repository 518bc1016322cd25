// Shape and stride arithmetic shared by every backend. Nothing here touches data.

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i];
  }
  return true;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy/PyTorch broadcasting: align from the right; each pair must be equal or contain a 1. */
export function broadcastShapes(a: Shape, b: Shape, what = 'operands'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${what}: shapes ${fmtShape(a)} and ${fmtShape(b)} are not broadcastable ` +
          `(dimension ${i - n} is ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Turns a possibly negative dim into 0..rank-1, or throws naming the argument. */
export function normalizeDim(dim: number, rank: number, argName = 'dim'): number {
  if (!Number.isInteger(dim)) throw new TypeError(`${argName}: expected an integer, got ${dim}`);
  const lo = rank === 0 ? -1 : -rank;
  const hi = rank === 0 ? 0 : rank - 1;
  if (dim < lo || dim > hi) {
    throw new RangeError(`${argName}: dimension ${dim} is out of range for a tensor of rank ${rank} (expected ${lo}..${hi})`);
  }
  return dim < 0 ? dim + Math.max(rank, 1) : dim;
}

export function normalizeDims(dims: number | readonly number[] | undefined | null, rank: number, argName = 'dim'): number[] {
  if (dims === undefined || dims === null) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : [...dims];
  const out = list.map((d) => normalizeDim(d, rank, argName));
  const seen = new Set<number>();
  for (const d of out) {
    if (seen.has(d)) throw new Error(`${argName}: dimension ${d} appears more than once in ${JSON.stringify(list)}`);
    seen.add(d);
  }
  return out.sort((x, y) => x - y);
}

export function checkShape(shape: unknown, argName = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${argName}: expected an array of non-negative integers, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new TypeError(`${argName}: expected non-negative integers, got ${JSON.stringify(shape)}`);
    }
  }
  return [...shape] as number[];
}

/** Pair-valued conv/pool arguments accept a number or [h, w]. */
export function pair(v: number | readonly number[], argName: string, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new RangeError(`${argName}: expected an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0], p[1]];
}

/** Output length of a convolution along one axis (torch's formula). */
export function convOutputSize(size: number, k: number, stride: number, pad: number, dil: number): number {
  return Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
}

/** Output length of a pooling window along one axis, with torch's ceil_mode rule. */
export function poolOutputSize(size: number, k: number, stride: number, pad: number, dil: number, ceil: boolean): number {
  const span = size + 2 * pad - dil * (k - 1) - 1;
  let out = Math.floor((ceil ? span + stride - 1 : span) / stride) + 1;
  // A window must start inside the input or the left padding.
  if (ceil && (out - 1) * stride >= size + pad) out--;
  return out;
}
