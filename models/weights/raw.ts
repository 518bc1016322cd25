/**
 * Raw (framework-independent) tensors as read from weight files, before they are wrapped into Tensors.
 *
 * Element types are narrowed to what the rest of the library computes with:
 * - floating types F64 / F32 / F16 / BF16 are converted to `float32` (Float32Array); F16 and BF16 convert exactly,
 *   F64 is rounded to nearest float32;
 * - integer types I32 / I16 / I8 / U8 become `int32` (Int32Array), exactly;
 * - I64 becomes `int32` by default, with a range check: a value outside [-2^31, 2^31 - 1] is an error naming the
 *   tensor. Pass `{ int64: 'bigint' }` to get dtype `int64` with a BigInt64Array holding the exact values instead;
 * - BOOL becomes `bool` with a Uint8Array of 0/1.
 * `sourceDtype` records the on-disk element type. `data` is always a fresh, row-major, contiguous array that owns
 * its buffer (never a view into the file bytes).
 */
import { fail } from './errors';

/** Element types found on disk, named as safetensors names them. */
export type StorageDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const STORAGE_DTYPES: readonly StorageDType[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];

export const STORAGE_DTYPE_SIZE: Readonly<Record<StorageDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

export function isStorageDType(s: unknown): s is StorageDType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(STORAGE_DTYPE_SIZE, s);
}

export type RawDType = 'float32' | 'int32' | 'int64' | 'bool';

interface RawTensorBase {
  /** Row-major shape; `[]` for a scalar. */
  shape: number[];
  /** Element type in the file, when the tensor was read from one. */
  sourceDtype?: StorageDType;
}
export interface RawFloat32Tensor extends RawTensorBase { dtype: 'float32'; data: Float32Array }
export interface RawInt32Tensor extends RawTensorBase { dtype: 'int32'; data: Int32Array }
/** Only produced with `{ int64: 'bigint' }`. */
export interface RawInt64Tensor extends RawTensorBase { dtype: 'int64'; data: BigInt64Array }
/** Values are 0 or 1. */
export interface RawBoolTensor extends RawTensorBase { dtype: 'bool'; data: Uint8Array }

export type RawTensor = RawFloat32Tensor | RawInt32Tensor | RawInt64Tensor | RawBoolTensor;
export type RawData = RawTensor['data'];

export interface DecodeOptions {
  /** How I64 tensors are returned: `'int32'` (default, range-checked) or `'bigint'` (BigInt64Array, exact). */
  int64?: 'int32' | 'bigint';
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Number of elements of `shape`, validating that every dimension is a non-negative safe integer and that the
 * product stays a safe integer. `what` names the tensor in error messages.
 */
export function shapeNumel(shape: unknown, what: string): number {
  if (!Array.isArray(shape)) fail(`${what}: expected shape to be an array of non-negative integers, got ${describe(shape)}`);
  let n = 1;
  let zero = false;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      fail(`${what}: expected shape to be an array of non-negative integers, got ${describe(shape)}`);
    }
    if (d === 0) zero = true;
    else n *= d;
  }
  if (zero) return 0;
  if (!Number.isSafeInteger(n)) fail(`${what}: shape ${JSON.stringify(shape)} has more than 2^53 elements`);
  return n;
}

export function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    if (s === undefined) return String(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(v);
  }
}

let halfTable: Float32Array | undefined;

/** IEEE 754 binary16 bits to number (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function getHalfTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) halfTable[i] = halfToFloat(i);
  }
  return halfTable;
}

/** Copies `bytes` into a fresh ArrayBuffer (so typed-array views over it are aligned). */
function alignedCopy(bytes: Uint8Array, byteLength: number): ArrayBuffer {
  const buf = new ArrayBuffer(byteLength);
  new Uint8Array(buf).set(bytes.subarray(0, byteLength));
  return buf;
}

/**
 * Decodes `numel` contiguous elements of type `src` from `bytes` into a RawTensor's dtype and data.
 * `littleEndian` is the byte order of the file (safetensors and PyTorch on x86/ARM: little).
 */
export function decodeElements(
  bytes: Uint8Array,
  src: StorageDType,
  numel: number,
  what: string,
  options: DecodeOptions = {},
  littleEndian = true,
): Pick<RawTensor, 'dtype' | 'data'> & { dtype: RawDType } {
  const size = STORAGE_DTYPE_SIZE[src];
  const nbytes = numel * size;
  if (!Number.isSafeInteger(nbytes) || bytes.length < nbytes) {
    fail(`${what}: expected ${numel} elements × ${size} bytes (${src}) = ${nbytes} bytes, got ${bytes.length}`);
  }
  const native = littleEndian === HOST_LITTLE_ENDIAN;
  const view = new DataView(bytes.buffer, bytes.byteOffset, nbytes);
  switch (src) {
    case 'F32': {
      if (native) return { dtype: 'float32', data: new Float32Array(alignedCopy(bytes, nbytes)) };
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = view.getFloat32(4 * i, littleEndian);
      return { dtype: 'float32', data: out };
    }
    case 'F64': {
      const out = new Float32Array(numel);
      if (native) {
        const f64 = new Float64Array(alignedCopy(bytes, nbytes));
        out.set(f64);
      } else {
        for (let i = 0; i < numel; i++) out[i] = view.getFloat64(8 * i, littleEndian);
      }
      return { dtype: 'float32', data: out };
    }
    case 'F16': {
      const table = getHalfTable();
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = table[view.getUint16(2 * i, littleEndian)];
      return { dtype: 'float32', data: out };
    }
    case 'BF16': {
      const out = new Float32Array(numel);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < numel; i++) bits[i] = view.getUint16(2 * i, littleEndian) << 16;
      return { dtype: 'float32', data: out };
    }
    case 'I32': {
      if (native) return { dtype: 'int32', data: new Int32Array(alignedCopy(bytes, nbytes)) };
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = view.getInt32(4 * i, littleEndian);
      return { dtype: 'int32', data: out };
    }
    case 'I16': {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = view.getInt16(2 * i, littleEndian);
      return { dtype: 'int32', data: out };
    }
    case 'I8': {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = view.getInt8(i);
      return { dtype: 'int32', data: out };
    }
    case 'U8': {
      const out = new Int32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = bytes[i];
      return { dtype: 'int32', data: out };
    }
    case 'BOOL': {
      const out = new Uint8Array(numel);
      for (let i = 0; i < numel; i++) out[i] = bytes[i] !== 0 ? 1 : 0;
      return { dtype: 'bool', data: out };
    }
    case 'I64': {
      if (options.int64 === 'bigint') {
        if (native) return { dtype: 'int64', data: new BigInt64Array(alignedCopy(bytes, nbytes)) };
        const out = new BigInt64Array(numel);
        for (let i = 0; i < numel; i++) out[i] = view.getBigInt64(8 * i, littleEndian);
        return { dtype: 'int64', data: out };
      }
      const out = new Int32Array(numel);
      const loAt = littleEndian ? 0 : 4;
      const hiAt = littleEndian ? 4 : 0;
      for (let i = 0; i < numel; i++) {
        const lo = view.getInt32(8 * i + loAt, littleEndian);
        const hi = view.getInt32(8 * i + hiAt, littleEndian);
        if (hi !== lo >> 31) {
          fail(
            `${what}: int64 element ${i} = ${view.getBigInt64(8 * i, littleEndian)} does not fit in int32 ` +
              `(expected a value in [-2147483648, 2147483647]; pass { int64: 'bigint' } to read int64 tensors exactly)`,
          );
        }
        out[i] = lo;
      }
      return { dtype: 'int32', data: out };
    }
  }
}

/** The storage dtype a RawTensor is written as, and its little-endian bytes. */
export function encodeElements(t: RawTensor, what: string): { dtype: StorageDType; bytes: Uint8Array } {
  const numel = t.data.length;
  const out = (size: number) => new Uint8Array(numel * size);
  switch (t.dtype) {
    case 'float32': {
      if (!(t.data instanceof Float32Array)) fail(`${what}: dtype 'float32' expects a Float32Array`);
      if (HOST_LITTLE_ENDIAN) return { dtype: 'F32', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, numel * 4).slice() };
      const b = out(4); const v = new DataView(b.buffer);
      for (let i = 0; i < numel; i++) v.setFloat32(4 * i, t.data[i], true);
      return { dtype: 'F32', bytes: b };
    }
    case 'int32': {
      if (!(t.data instanceof Int32Array)) fail(`${what}: dtype 'int32' expects an Int32Array`);
      if (HOST_LITTLE_ENDIAN) return { dtype: 'I32', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, numel * 4).slice() };
      const b = out(4); const v = new DataView(b.buffer);
      for (let i = 0; i < numel; i++) v.setInt32(4 * i, t.data[i], true);
      return { dtype: 'I32', bytes: b };
    }
    case 'int64': {
      if (!(t.data instanceof BigInt64Array)) fail(`${what}: dtype 'int64' expects a BigInt64Array`);
      if (HOST_LITTLE_ENDIAN) return { dtype: 'I64', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, numel * 8).slice() };
      const b = out(8); const v = new DataView(b.buffer);
      for (let i = 0; i < numel; i++) v.setBigInt64(8 * i, t.data[i], true);
      return { dtype: 'I64', bytes: b };
    }
    case 'bool': {
      if (!(t.data instanceof Uint8Array)) fail(`${what}: dtype 'bool' expects a Uint8Array`);
      const b = out(1);
      for (let i = 0; i < numel; i++) b[i] = t.data[i] ? 1 : 0;
      return { dtype: 'BOOL', bytes: b };
    }
    default:
      fail(`${what}: unknown dtype ${describe((t as { dtype: unknown }).dtype)} (expected 'float32', 'int32', 'int64' or 'bool')`);
  }
}
