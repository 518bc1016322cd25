import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeNpy,
  encodeNpy,
  float16BitsToFloat32Bits,
  float16BitsToNumber,
  float32BitsToFloat16Bits,
  npyHeader,
  numberToFloat16Bits,
  toFloat16Bits,
} from '../../cli/util/npy';

interface NpyCase {
  name: string;
  descr: string;
  shape: number[];
  npy: string;
  f32?: number[];
  f64?: string[];
  u8?: number[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/cli/npy.json', import.meta.url), 'utf8')) as {
  numpy: string;
  cases: NpyCase[];
};

const DTYPE = { '<f2': 'float16', '<f4': 'float32', '|u1': 'uint8' } as const;

function f32FromBits(bits: number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}
function f64FromHex(hex: string[]): Float64Array {
  return new Float64Array(BigUint64Array.from(hex.map((h) => BigInt('0x' + h))).buffer);
}
function sourceData(c: NpyCase): ArrayLike<number> {
  if (c.f32) return f32FromBits(c.f32);
  if (c.f64) return f64FromHex(c.f64); // the double -> half path (bit patterns, for NaN signs)
  return Uint8Array.from(c.u8!);
}
function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('npy writer: byte-identical to np.save', () => {
  it('covers float16 from float32 and float64, float32 and uint8 cases', () => {
    const names = fx.cases.map((c) => c.name);
    expect(names).toContain('f16_from_f32');
    expect(names).toContain('f16_from_f64');
    expect(names).toContain('f32_scalar');
    expect(names).toContain('u8_64x64x3');
  });

  for (const c of fx.cases) {
    it(c.name, () => {
      const dtype = DTYPE[c.descr as keyof typeof DTYPE];
      expect(dtype).toBeDefined();
      const ours = encodeNpy({ dtype, shape: c.shape, data: sourceData(c) });
      const theirs = new Uint8Array(Buffer.from(c.npy, 'base64'));
      // header first, for a readable failure
      const headerLen = npyHeader(c.descr, c.shape).length;
      expect(Buffer.from(ours.subarray(0, headerLen)).toString('latin1')).toBe(
        Buffer.from(theirs.subarray(0, headerLen)).toString('latin1'),
      );
      if (dtype === 'float16') {
        const a = new Uint16Array(ours.slice(headerLen).buffer);
        const b = new Uint16Array(theirs.slice(headerLen).buffer);
        const src = sourceData(c);
        for (let i = 0; i < b.length; i++) {
          if (a[i] !== b[i]) {
            const srcBits = c.f32 ? c.f32[i]!.toString(16) : c.f64![i];
            throw new Error(`element ${i} (source ${srcBits} = ${src[i]}): ours ${a[i]!.toString(16)}, numpy ${b[i]!.toString(16)}`);
          }
        }
      }
      expect(hex(ours)).toBe(hex(theirs));
    });
  }
});

describe('npy reader', () => {
  for (const c of fx.cases) {
    it(`reads numpy's ${c.name}`, () => {
      const bytes = new Uint8Array(Buffer.from(c.npy, 'base64'));
      const arr = decodeNpy(bytes);
      expect(arr.dtype).toBe(DTYPE[c.descr as keyof typeof DTYPE]);
      expect(arr.shape).toEqual(c.shape);
      const src = sourceData(c);
      if (arr.dtype === 'uint8') {
        expect(Array.from(arr.data)).toEqual(Array.from(src));
      } else if (arr.dtype === 'float32') {
        expect(Array.from(new Uint32Array(arr.data.buffer))).toEqual(c.f32);
      } else {
        const bits = toFloat16Bits(src);
        expect(Array.from(arr.float16Bits!)).toEqual(Array.from(bits));
        for (let i = 0; i < bits.length; i++) {
          const v = float16BitsToNumber(bits[i]!);
          if (Number.isNaN(v)) expect(Number.isNaN(arr.data[i]!)).toBe(true);
          else expect(arr.data[i]).toBe(v);
        }
      }
      // round trip through our writer
      const again = encodeNpy({
        dtype: arr.dtype,
        shape: arr.shape,
        data: arr.dtype === 'float16' ? arr.data : arr.data,
      });
      expect(hex(again)).toBe(hex(bytes));
    });
  }

  it('reads format 2.0 and big-endian float32 headers', () => {
    const dict = "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }";
    const hlen = 128 - 12;
    expect(dict.length).toBeLessThan(hlen);
    const bytes = new Uint8Array(128 + 8);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
    new DataView(bytes.buffer).setUint32(8, hlen, true);
    for (let i = 0; i < hlen; i++) bytes[12 + i] = i < dict.length ? dict.charCodeAt(i) : i === hlen - 1 ? 10 : 32;
    new DataView(bytes.buffer).setFloat32(128, 1.5, false);
    new DataView(bytes.buffer).setFloat32(132, -2, false);
    const arr = decodeNpy(bytes);
    expect(arr.shape).toEqual([2]);
    expect(Array.from(arr.data)).toEqual([1.5, -2]);
  });

  it('rejects bad files with clear errors', () => {
    expect(() => decodeNpy(new Uint8Array(20))).toThrow(/magic/);
    const good = encodeNpy({ dtype: 'float32', shape: [4], data: [1, 2, 3, 4] });
    expect(() => decodeNpy(good.subarray(0, good.length - 1))).toThrow(/truncated/);
    const f8 = npyHeader('<f8', [1]);
    expect(() => decodeNpy(new Uint8Array([...f8, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/unsupported dtype/);
    const fo = npyHeader('<f4', [1], true);
    expect(() => decodeNpy(new Uint8Array([...fo, 0, 0, 0, 0]))).toThrow(/fortran/);
    expect(() => encodeNpy({ dtype: 'float32', shape: [2, 2], data: [1, 2, 3] })).toThrow(/needs 4/);
    expect(() => encodeNpy({ dtype: 'uint8', shape: [-1], data: [] })).toThrow(/bad dimension/);
  });

  it('headers are 64-byte aligned', () => {
    for (const shape of [[], [1], [123456789], [2, 3, 4, 5, 6, 7, 8]]) {
      expect(npyHeader('<f2', shape).length % 64).toBe(0);
    }
  });
});

describe('float16 conversion properties', () => {
  it('float32 and double paths agree on every float32 value (no double rounding issue)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        const f = new Float32Array(new Uint32Array([bits]).buffer)[0]!;
        if (Number.isNaN(f)) return;
        expect(numberToFloat16Bits(f)).toBe(float32BitsToFloat16Bits(bits));
      }),
      { numRuns: 20000 },
    );
  });

  it('every float16 value round-trips exactly through float32 and numbers', () => {
    for (let h = 0; h < 0x10000; h++) {
      const f32bits = float16BitsToFloat32Bits(h);
      const v = float16BitsToNumber(h);
      const viaF32 = new Float32Array(new Uint32Array([f32bits]).buffer)[0]!;
      if (Number.isNaN(v)) {
        expect(Number.isNaN(viaF32)).toBe(true);
        expect(float32BitsToFloat16Bits(f32bits)).toBe(h); // payload kept
        continue;
      }
      expect(Object.is(viaF32, v)).toBe(true);
      expect(float32BitsToFloat16Bits(f32bits)).toBe(h);
      expect(numberToFloat16Bits(v)).toBe(h);
    }
  });

  it('plain numbers take the same double path as Float64Array (NaN sign aside)', () => {
    const c = fx.cases.find((k) => k.name === 'f16_from_f64')!;
    const f64 = f64FromHex(c.f64!);
    const a = toFloat16Bits(f64);
    const b = toFloat16Bits(Array.from(f64));
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(f64[i]!)) expect(b[i]).toBe(0x7e00);
      else expect(b[i]).toBe(a[i]);
    }
  });

  it('rounds to nearest, ties to even, at known points', () => {
    expect(numberToFloat16Bits(65504)).toBe(0x7bff);
    expect(numberToFloat16Bits(65519.99)).toBe(0x7bff);
    expect(numberToFloat16Bits(65520)).toBe(0x7c00);
    expect(numberToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(numberToFloat16Bits(2 ** -25)).toBe(0); // tie with 0 -> even (0)
    expect(numberToFloat16Bits(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 -> 2
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(numberToFloat16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01); // above the tie as a double
    expect(float32BitsToFloat16Bits(new Uint32Array(new Float32Array([1 + 2 ** -11 + 2 ** -40]).buffer)[0]!)).toBe(0x3c00);
    expect(numberToFloat16Bits(-0)).toBe(0x8000);
    expect(numberToFloat16Bits(Number.NaN)).toBe(0x7e00);
  });
});
