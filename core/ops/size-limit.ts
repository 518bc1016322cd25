// How big a tensor may be, checked before anything is allocated: an oversized shape (zeros([1e5, 1e5]),
// interpolate to 100000×100000) must be a clear error naming the op and the size, not V8's "Invalid typed
// array length" from deep inside a kernel, nor a process killed for memory halfway through.
import type { DType } from '../dtype';
import { fmtShape } from '../shape';

/** The most elements one tensor may have: the longest typed array V8 (Node, Chrome) can create, 2^32. */
export const MAX_TENSOR_ELEMENTS = 2 ** 32;

const BYTES: Record<DType, number> = { float32: 4, int32: 4, float64: 8 };

export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype] ?? 4;
}

/** 1536 → "1.5 KiB", 6.4e9 → "5.96 GiB": binary units, three significant digits. */
export function fmtBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${Number(v.toPrecision(3))} ${units[u]}`;
}

/** 1600000000 → "1,600,000,000". */
export function fmtCount(n: number): string {
  return Number.isSafeInteger(n) ? n.toLocaleString('en-US') : n.toExponential(3);
}

/** Throws unless a tensor of `shape` and `dtype` fits the per-tensor limit. */
export function checkTensorSize(shape: readonly number[], dtype: DType, op: string): void {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_TENSOR_ELEMENTS) {
    throw new RangeError(
      `${op}: shape ${fmtShape(shape)} has ${fmtCount(count)} elements (${fmtBytes(count * bytesPerElement(dtype))} as ${dtype}); ` +
        `a tensor can hold at most ${fmtCount(MAX_TENSOR_ELEMENTS)} elements`,
    );
  }
}

/**
 * Runs an allocation; a failure of the host allocator (RangeError "Array buffer allocation failed") becomes
 * an error saying which op wanted how much.
 */
export function allocating<T>(op: string, shape: readonly number[], dtype: DType, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer/i.test(e.message)) {
      const count = shape.reduce((a, b) => a * b, 1);
      throw new RangeError(`${op}: could not allocate ${fmtBytes(count * bytesPerElement(dtype))} for a ${dtype} tensor of shape ${fmtShape(shape)} (${e.message})`);
    }
    throw e;
  }
}
