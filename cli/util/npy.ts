/**
 * NumPy `.npy` files (format 1.0 when writing; 1.0/2.0/3.0 when reading) for
 * float16 (`<f2`), float32 (`<f4`) and uint8 (`|u1`) arrays in C order.
 *
 * Written files are byte-identical to `np.save` (numpy ≥ 1.23 header layout:
 * the dict keys sorted, 21 − len(repr(shape[0])) spare spaces for in-place
 * growth, padded with spaces and a newline to a multiple of 64 bytes).
 *
 * float16 conversion rounds to nearest, ties to even, with subnormals,
 * overflow to ±inf and NaN handled as numpy does:
 * - from a `Float32Array`, the float32 bit patterns are converted exactly as
 *   `arr.astype(np.float16)` (`npy_floatbits_to_halfbits`, NaN payloads kept);
 * - from a `Float64Array` or plain numbers, each double is rounded directly,
 *   as `np.float16(x)` / `np.asarray(x, np.float64).astype(np.float16)` does
 *   (no double rounding through float32). A `Float64Array` is read by bit
 *   pattern, so NaN signs and payloads follow numpy's `npy_doublebits_to_halfbits`;
 *   a NaN given as a plain number becomes `0x7e00`.
 */

export type NpyDtype = 'float16' | 'float32' | 'uint8';

/** Values to write. For float16/float32 a `Float32Array` is read by bit pattern. */
export interface NpyInput {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

/** A decoded array: float16 values are widened (exactly) to float32. */
export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint8Array;
  /** For float16 arrays, the raw half-precision bit patterns. */
  readonly float16Bits?: Uint16Array;
}

const DESCR: Record<NpyDtype, string> = { float16: '<f2', float32: '<f4', uint8: '|u1' };
const ITEMSIZE: Record<NpyDtype, number> = { float16: 2, float32: 4, uint8: 1 };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ARRAY_ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ----------------------------------------------------------------- float16 bits

/** numpy's `npy_floatbits_to_halfbits`: float32 bits → float16 bits (RNE). */
export function float32BitsToFloat16Bits(f: number): number {
  f >>>= 0;
  const hSgn = (f & 0x80000000) >>> 16;
  const fExp = f & 0x7f800000;
  // exponent overflow / NaN
  if (fExp >= 0x47800000) {
    if (fExp === 0x7f800000) {
      const fSig = f & 0x007fffff;
      if (fSig !== 0) {
        let ret = 0x7c00 + (fSig >>> 13);
        if (ret === 0x7c00) ret++; // keep it a NaN
        return hSgn + ret;
      }
      return hSgn + 0x7c00; // inf
    }
    return hSgn + 0x7c00; // overflow to inf
  }
  // exponent underflow: subnormal half or signed zero
  if (fExp <= 0x38000000) {
    if (fExp < 0x33000000) return hSgn; // too small: signed zero
    const e = fExp >>> 23;
    // the half significand sits 13 bits up after an extra (113 - e) shift of 1..11 bits
    let fSig = (0x00800000 + (f & 0x007fffff)) >>> (113 - e);
    // ties to even: do not round up when the half LSB is 0 and the dropped bits are
    // exactly 1000…0 (the bits lost by the shift are checked in the original)
    if ((fSig & 0x00003fff) !== 0x00001000 || (f & 0x000007ff) !== 0) fSig += 0x00001000;
    const hSig = fSig >>> 13;
    // a carry into the exponent field correctly gives the smallest normal
    return hSgn + hSig;
  }
  // regular case
  const hExpBits = (fExp - 0x38000000) >>> 13;
  let fSig = f & 0x007fffff;
  if ((fSig & 0x00003fff) !== 0x00001000) fSig += 0x00001000;
  const hSig = fSig >>> 13;
  // a carry from the significand into the exponent is correct (may give inf)
  return hSgn + hExpBits + hSig;
}

function roundHalfEven(m: number): number {
  const f = Math.floor(m);
  const d = m - f; // exact: m < 2^12
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * A double → float16 bits, rounded once (nearest, ties to even) from the exact
 * value, as numpy's `npy_double_to_half`. NaN gives `0x7e00`.
 */
export function numberToFloat16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sgn = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sgn | 0x7c00; // 65520 is the tie between 65504 and 2^16: rounds to inf
  if (a < 2 ** -14) {
    // subnormal quantum 2^-24; m = a * 2^24 is exact (power-of-two scaling)
    return sgn | roundHalfEven(a * 2 ** 24); // 1024 correctly becomes the smallest normal
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let r = roundHalfEven(a * 2 ** (10 - e)); // in [1024, 2048]
  if (r === 2048) {
    e++;
    r = 1024;
  }
  return sgn | ((e + 15) << 10) | (r - 1024);
}

/**
 * A double given by its high and low 32-bit words → float16 bits, as numpy's
 * `npy_doublebits_to_halfbits` (NaN sign and top payload bits kept).
 */
export function float64WordsToFloat16Bits(hi: number, lo: number): number {
  hi >>>= 0;
  const sgn = (hi & 0x80000000) >>> 16;
  if ((hi & 0x7ff00000) === 0x7ff00000) {
    const sigHi = hi & 0x000fffff;
    if (sigHi !== 0 || lo !== 0) {
      let ret = 0x7c00 + (sigHi >>> 10); // d_sig >> 42
      if (ret === 0x7c00) ret++;
      return sgn + ret;
    }
    return sgn + 0x7c00;
  }
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, hi);
  dv.setUint32(4, lo >>> 0);
  return numberToFloat16Bits(dv.getFloat64(0));
}

/** float16 bits → the exact value as a number. */
export function float16BitsToNumber(h: number): number {
  const sgn = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sgn * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : sgn * Infinity;
  return sgn * (1024 + m) * 2 ** (e - 25);
}

/** float16 bits → float32 bits (exact; NaN payloads kept, as numpy's `npy_halfbits_to_floatbits`). */
export function float16BitsToFloat32Bits(h: number): number {
  const hExp = h & 0x7c00;
  const fSgn = ((h & 0x8000) << 16) >>> 0;
  if (hExp === 0) {
    let hSig = h & 0x03ff;
    if (hSig === 0) return fSgn; // signed zero
    // subnormal: normalize
    hSig <<= 1;
    let shift = 0;
    while ((hSig & 0x0400) === 0) {
      hSig <<= 1;
      shift++;
    }
    const fExp = (127 - 15 - shift) << 23;
    const fSig = (hSig & 0x03ff) << 13;
    return (fSgn + fExp + fSig) >>> 0;
  }
  if (hExp === 0x7c00) return (fSgn + 0x7f800000 + ((h & 0x03ff) << 13)) >>> 0;
  return (fSgn + (((h & 0x7fff) + 0x1c000) << 13)) >>> 0;
}

/** Converts values to float16 bit patterns (see the module comment for the two input paths). */
export function toFloat16Bits(data: ArrayLike<number>): Uint16Array {
  const n = data.length;
  const out = new Uint16Array(n);
  if (data instanceof Float32Array) {
    const bits = new Uint32Array(data.buffer, data.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = float32BitsToFloat16Bits(bits[i]!);
  } else if (data instanceof Float64Array) {
    const dv = new DataView(data.buffer, data.byteOffset, n * 8);
    for (let i = 0; i < n; i++) {
      const x = data[i]!;
      out[i] = Number.isNaN(x)
        ? float64WordsToFloat16Bits(dv.getUint32(8 * i + (LITTLE_ENDIAN_HOST ? 4 : 0), LITTLE_ENDIAN_HOST),
            dv.getUint32(8 * i + (LITTLE_ENDIAN_HOST ? 0 : 4), LITTLE_ENDIAN_HOST))
        : numberToFloat16Bits(x);
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = numberToFloat16Bits(data[i]!);
  }
  return out;
}

// ----------------------------------------------------------------- header

function checkShape(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`npy: bad dimension ${d} in shape [${shape.join(', ')}]`);
    size *= d;
  }
  return size;
}

/** Python's `repr(tuple(shape))`. */
function reprShape(shape: readonly number[]): string {
  if (shape.length === 0) return '()';
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** The full format-1.0 header (magic … newline) that `np.save` writes for this descr and shape. */
export function npyHeader(descr: string, shape: readonly number[], fortranOrder = false): Uint8Array {
  checkShape(shape);
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${reprShape(shape)}, }`;
  if (shape.length > 0) {
    const axis = fortranOrder ? shape[shape.length - 1]! : shape[0]!;
    dict += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(axis).length));
  }
  const hlen = dict.length + 1; // + '\n'
  const padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + hlen) % ARRAY_ALIGN);
  const total = hlen + padlen;
  if (total > 0xffff) throw new RangeError(`npy: header length ${hlen} too big for version 1.0`);
  const out = new Uint8Array(MAGIC.length + 4 + total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = total & 0xff;
  out[9] = total >>> 8;
  let o = 10;
  for (let i = 0; i < dict.length; i++) out[o++] = dict.charCodeAt(i);
  out.fill(0x20, o, o + padlen);
  out[out.length - 1] = 0x0a;
  return out;
}

// ----------------------------------------------------------------- encode / decode

/** Encodes an array as the bytes of a `.npy` file (format 1.0, little-endian, C order). */
export function encodeNpy(arr: NpyInput): Uint8Array {
  const descr = DESCR[arr.dtype];
  if (descr === undefined) throw new TypeError(`npy: unsupported dtype ${String(arr.dtype)}`);
  const size = checkShape(arr.shape);
  if (arr.data.length !== size) {
    throw new RangeError(`npy: data has ${arr.data.length} elements, shape [${arr.shape.join(', ')}] needs ${size}`);
  }
  const header = npyHeader(descr, arr.shape);
  const out = new Uint8Array(header.length + size * ITEMSIZE[arr.dtype]);
  out.set(header, 0);
  const body = out.subarray(header.length);
  if (arr.dtype === 'uint8') {
    for (let i = 0; i < size; i++) body[i] = arr.data[i]!; // Uint8Array conversion semantics (mod 256)
  } else if (arr.dtype === 'float16') {
    const bits = toFloat16Bits(arr.data);
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let i = 0; i < size; i++) dv.setUint16(2 * i, bits[i]!, true);
  } else {
    const src = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data);
    if (LITTLE_ENDIAN_HOST) {
      body.set(new Uint8Array(src.buffer, src.byteOffset, size * 4));
    } else {
      const bits = new Uint32Array(src.buffer, src.byteOffset, size);
      const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < size; i++) dv.setUint32(4 * i, bits[i]!, true);
    }
  }
  return out;
}

export interface ParsedHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function parseHeader(bytes: Uint8Array): ParsedHeader {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error('npy: not a .npy file (bad magic)');
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    hlen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new Error(`npy: unsupported format version ${major}.${bytes[7]}`);
  }
  if (start + hlen > bytes.length) throw new Error('npy: truncated header');
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + hlen));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`npy: cannot parse header ${JSON.stringify(text.trim())}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 0) throw new Error(`npy: bad shape (${shapeText})`);
      return v;
    });
  return { descr, fortranOrder: fortran === 'True', shape, dataOffset: start + hlen };
}

/**
 * The header alone (magic, version, dict), for checking a file without reading its data: `dataOffset`
 * plus the element count times the item size is the length a complete file has. Throws on a bad header.
 */
export function readNpyHeader(bytes: Uint8Array): ParsedHeader {
  return parseHeader(bytes);
}

/** Decodes a `.npy` file holding `<f2`/`>f2`, `<f4`/`>f4` or `|u1` data in C order. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  const h = parseHeader(bytes);
  if (h.fortranOrder) throw new Error('npy: fortran_order arrays are not supported');
  const size = checkShape(h.shape);
  const kind = h.descr.slice(1);
  const little = h.descr[0] !== '>';
  const dtype: NpyDtype | undefined =
    kind === 'f2' ? 'float16' : kind === 'f4' ? 'float32' : kind === 'u1' ? 'uint8' : undefined;
  if (dtype === undefined || !'<>|='.includes(h.descr[0]!)) {
    throw new Error(`npy: unsupported dtype descr '${h.descr}' (expected <f2, <f4 or |u1)`);
  }
  const nbytes = size * ITEMSIZE[dtype];
  if (h.dataOffset + nbytes > bytes.length) {
    throw new Error(`npy: truncated data (${bytes.length - h.dataOffset} of ${nbytes} bytes)`);
  }
  const body = bytes.subarray(h.dataOffset, h.dataOffset + nbytes);
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (dtype === 'uint8') return { dtype, shape: h.shape, data: body.slice() };
  if (dtype === 'float16') {
    const bits = new Uint16Array(size);
    const data = new Float32Array(size);
    const data32 = new Uint32Array(data.buffer);
    for (let i = 0; i < size; i++) {
      const b = dv.getUint16(2 * i, little);
      bits[i] = b;
      data32[i] = float16BitsToFloat32Bits(b);
    }
    return { dtype, shape: h.shape, data, float16Bits: bits };
  }
  const data = new Float32Array(size);
  const data32 = new Uint32Array(data.buffer);
  for (let i = 0; i < size; i++) data32[i] = dv.getUint32(4 * i, little);
  return { dtype, shape: h.shape, data };
}
