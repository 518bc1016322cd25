import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type RawTensor, MAX_SAFETENSORS_HEADER_BYTES, blobSource, bytesSource, parseSafetensors, readSafetensorsFile,
  readSafetensorsFromSource, readSafetensorsHeader, serializeSafetensors,
} from '../../models/weights';
import {
  EXPECTED, expectFormatError, expectFormatErrorAsync, expectTensors, fixture, fixturePath, makeSafetensors,
} from './helpers';

const F32 = (shape: number[], offsets: [number, number]) => ({ dtype: 'F32', shape, data_offsets: offsets });

describe('parseSafetensors on reference fixtures', () => {
  it('reads every dtype exactly (F32/F16/BF16/F64/I64/I32/I16/I8/U8/BOOL, scalar, empty) and the metadata', () => {
    const { tensors, metadata } = parseSafetensors(fixture('basic.safetensors'));
    expectTensors(tensors, EXPECTED['basic.safetensors'].tensors);
    expect(metadata).toEqual({ format: 'pt', note: 'hand-written' });
  });

  it('reads a linear-classifier file (weight, bias)', () => {
    const { tensors, metadata } = parseSafetensors(fixture('linear.safetensors'));
    expectTensors(tensors, EXPECTED['linear.safetensors'].tensors);
    expect(metadata).toEqual({});
    expect(tensors.weight.shape).toEqual([3, 4]);
  });

  it('rejects int64 values outside int32 by default, naming the tensor; reads them exactly as bigint on request', () => {
    expectFormatError(() => parseSafetensors(fixture('int64_big.safetensors')), 'tensor "big"', /1099511627776/, /int64: 'bigint'/);
    const { tensors } = parseSafetensors(fixture('int64_big.safetensors'), { int64: 'bigint' });
    const t = tensors.big;
    expect(t.dtype).toBe('int64');
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(t.data as BigInt64Array, String)).toEqual(EXPECTED['int64_big.safetensors'].bigint);
  });

  it('returns arrays that own their buffers (not views into the file)', () => {
    const bytes = fixture('basic.safetensors');
    const { tensors } = parseSafetensors(bytes);
    for (const t of Object.values(tensors)) {
      expect(t.data.buffer).not.toBe(bytes.buffer);
      expect(t.data.byteOffset).toBe(0);
    }
  });

  it('accepts a Node Buffer at a non-zero byteOffset', () => {
    const padded = Buffer.concat([Buffer.from('x'), readFileSync(fixturePath('basic.safetensors'))]).subarray(1);
    expectTensors(parseSafetensors(padded).tensors, EXPECTED['basic.safetensors'].tensors);
  });

  it('filter skips tensors', () => {
    const { tensors } = parseSafetensors(fixture('basic.safetensors'), { filter: (k) => k.startsWith('f') });
    expect(Object.keys(tensors).sort()).toEqual(['f16', 'f32', 'f64']);
  });

  it('readSafetensorsFile and a Blob source give the same result as the bytes parser', async () => {
    const bytes = fixture('basic.safetensors');
    const fromBytes = parseSafetensors(bytes);
    expect(await readSafetensorsFile(fixturePath('basic.safetensors'))).toEqual(fromBytes);
    expect(await readSafetensorsFromSource(blobSource(new Blob([bytes])))).toEqual(fromBytes);
    const header = await readSafetensorsHeader(bytesSource(bytes));
    expect(header.entries.map((e) => e.key).sort()).toEqual(Object.keys(fromBytes.tensors).sort());
    expect(header.dataOffset % 8).toBe(0);
  });

  it('readSafetensorsFile reports a missing file with the OS error', async () => {
    await expect(readSafetensorsFile(fixturePath('does-not-exist.safetensors'))).rejects.toThrow(/ENOENT/);
  });
});

describe('serializeSafetensors', () => {
  const sample: Record<string, RawTensor> = {
    w: { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, -0, Infinity, NaN]) },
    idx: { dtype: 'int32', shape: [3], data: new Int32Array([-1, 0, 2147483647]) },
    mask: { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
    big: { dtype: 'int64', shape: [1], data: new BigInt64Array([-(2n ** 62n)]) },
    s: { dtype: 'float32', shape: [], data: new Float32Array([0.25]) },
    e: { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
    'ünïcode.key': { dtype: 'float32', shape: [1], data: new Float32Array([7]) },
    __proto__x: { dtype: 'int32', shape: [1], data: new Int32Array([9]) },
  };

  it('round-trips float32/int32/int64/bool tensors and metadata', () => {
    const bytes = serializeSafetensors(sample, { format: 'pt', 'a"b': 'c\nd' });
    const back = parseSafetensors(bytes, { int64: 'bigint' });
    expect(back.metadata).toEqual({ format: 'pt', 'a"b': 'c\nd' });
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(sample).sort());
    for (const [k, t] of Object.entries(sample)) {
      expect(back.tensors[k].dtype).toBe(t.dtype);
      expect(back.tensors[k].shape).toEqual(t.shape);
      expect(Array.from(back.tensors[k].data as ArrayLike<unknown>)).toEqual(Array.from(t.data as ArrayLike<unknown>));
    }
    expect(Object.is(back.tensors.w.data[3], -0)).toBe(true);
  });

  it('pads the header with spaces to a multiple of 8 and aligns every tensor to its element size', () => {
    const bytes = serializeSafetensors(sample);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true);
    const header = JSON.parse(text);
    for (const [k, v] of Object.entries<{ dtype: string; data_offsets: [number, number] }>(header)) {
      if (k === '__metadata__') continue;
      const size = { F32: 4, I32: 4, I64: 8, BOOL: 1 }[v.dtype]!;
      expect((8 + n + v.data_offsets[0]) % size).toBe(0);
    }
  });

  it('round-trips the converted reference fixture', () => {
    const a = parseSafetensors(fixture('basic.safetensors'));
    const b = parseSafetensors(serializeSafetensors(a.tensors, a.metadata));
    expect(b.metadata).toEqual(a.metadata);
    for (const k of Object.keys(a.tensors)) {
      expect(b.tensors[k].shape).toEqual(a.tensors[k].shape);
      expect(Array.from(b.tensors[k].data as ArrayLike<number>)).toEqual(Array.from(a.tensors[k].data as ArrayLike<number>));
    }
  });

  it('round-trips random tensors (property)', () => {
    const tensor = fc.oneof(
      fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }).chain((shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        return fc.oneof(
          fc.array(fc.float({ noNaN: false }), { minLength: n, maxLength: n }).map((v): RawTensor => ({ dtype: 'float32', shape, data: new Float32Array(v) })),
          fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n }).map((v): RawTensor => ({ dtype: 'int32', shape, data: new Int32Array(v) })),
          fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((v): RawTensor => ({ dtype: 'bool', shape, data: new Uint8Array(v.map(Number)) })),
        );
      }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }).filter((k) => k !== '__metadata__'), tensor, { maxKeys: 6 }), (tensors) => {
        const back = parseSafetensors(serializeSafetensors(tensors)).tensors;
        expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
        for (const [k, t] of Object.entries(tensors)) {
          expect(back[k].shape).toEqual(t.shape);
          expect(Array.from(back[k].data as ArrayLike<number>)).toEqual(Array.from(t.data as ArrayLike<number>));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('rejects inconsistent inputs with errors naming the tensor', () => {
    expectFormatError(() => serializeSafetensors({ w: { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) } }), 'tensor "w"', /4 elements/);
    expectFormatError(() => serializeSafetensors({ w: { dtype: 'float32', shape: [2], data: new Int32Array(2) } as unknown as RawTensor }), 'tensor "w"', /Float32Array/);
    expectFormatError(() => serializeSafetensors({ w: { dtype: 'float16', shape: [1], data: new Float32Array(1) } as unknown as RawTensor }), 'tensor "w"', /unknown dtype/);
    expectFormatError(() => serializeSafetensors({ w: { dtype: 'float32', shape: [-1], data: new Float32Array(1) } }), 'tensor "w"', /shape/);
    expectFormatError(() => serializeSafetensors({ __metadata__: { dtype: 'float32', shape: [1], data: new Float32Array(1) } }), /reserved/);
    expectFormatError(() => serializeSafetensors({}, { a: 1 as unknown as string }), /metadata "a"/);
  });
});

describe('parseSafetensors validation', () => {
  const ok = () => makeSafetensors({ a: F32([2], [0, 8]), b: F32([1], [8, 12]) }, 12);

  it('accepts a well-formed hand-made file (sanity check for the cases below)', () => {
    expect(Object.keys(parseSafetensors(ok()).tensors)).toEqual(['a', 'b']);
  });

  it('file shorter than the 8-byte length', () => {
    expectFormatError(() => parseSafetensors(new Uint8Array(0)), /0 bytes, expected at least 8/);
    expectFormatError(() => parseSafetensors(new Uint8Array(5)), /at least 8/);
  });

  it('truncated file', () => {
    const bytes = fixture('basic.safetensors');
    expectFormatError(() => parseSafetensors(bytes.subarray(0, 100)), /header length \d+ exceeds the 100-byte file/);
    expectFormatError(() => parseSafetensors(bytes.subarray(0, bytes.length - 3)), /extend past the \d+-byte data region|trailing|truncated/);
  });

  it('header too large', () => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint32(0, MAX_SAFETENSORS_HEADER_BYTES + 1, true);
    expectFormatError(() => parseSafetensors(b), /header length 100000001 is too large/);
    new DataView(b.buffer).setUint32(4, 0xffffffff, true);
    expectFormatError(() => parseSafetensors(b), /too large/);
  });

  it('header not valid UTF-8 / JSON / not an object', () => {
    const bad = makeSafetensors('{"a":1}');
    bad[9] = 0xff;
    expectFormatError(() => parseSafetensors(bad), /not valid UTF-8/);
    expectFormatError(() => parseSafetensors(makeSafetensors('{"a": {')), /not valid JSON/);
    expectFormatError(() => parseSafetensors(makeSafetensors('[1,2]')), /expected the header to be a JSON object/);
    expectFormatError(() => parseSafetensors(makeSafetensors('null    ')), /JSON object/);
  });

  it('entries missing dtype, shape or data_offsets name the tensor and the field', () => {
    expectFormatError(() => parseSafetensors(makeSafetensors({ w: { shape: [1], data_offsets: [0, 4] } }, 4)), 'tensor "w"', /missing "dtype"/);
    expectFormatError(() => parseSafetensors(makeSafetensors({ w: { dtype: 'F32', data_offsets: [0, 4] } }, 4)), 'tensor "w"', /missing "shape"/);
    expectFormatError(() => parseSafetensors(makeSafetensors({ w: { dtype: 'F32', shape: [1] } }, 4)), 'tensor "w"', /missing "data_offsets"/);
    expectFormatError(() => parseSafetensors(makeSafetensors({ w: 5 }, 4)), 'tensor "w"', /expected an object/);
  });

  it('unknown dtype', () => {
    expectFormatError(
      () => parseSafetensors(makeSafetensors({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4)),
      'tensor "w"', /unknown dtype "F8_E4M3"/, /F32/,
    );
  });

  it('bad shapes and offsets', () => {
    for (const shape of [[-1], [1.5], ['2'], 3, [2 ** 53]]) {
      expectFormatError(() => parseSafetensors(makeSafetensors({ w: { dtype: 'F32', shape, data_offsets: [0, 4] } }, 4)), 'tensor "w"', /shape/);
    }
    expectFormatError(() => parseSafetensors(makeSafetensors({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, 4)), 'tensor "w"', /2\^53/);
    for (const offs of [[0], [0, -4], [0, '4'], [0, 4.5], 'x']) {
      expectFormatError(() => parseSafetensors(makeSafetensors({ w: { dtype: 'F32', shape: [1], data_offsets: offs } }, 4)), 'tensor "w"', /data_offsets/);
    }
    expectFormatError(() => parseSafetensors(makeSafetensors({ w: F32([0], [4, 0]) }, 4)), 'tensor "w"', /end before they begin/);
  });

  it('offsets beyond the data region', () => {
    expectFormatError(() => parseSafetensors(makeSafetensors({ w: F32([4], [0, 16]) }, 8)), 'tensor "w"', /extend past the 8-byte data region/);
  });

  it('size mismatch between shape × dtype and offsets', () => {
    expectFormatError(
      () => parseSafetensors(makeSafetensors({ w: F32([2, 3], [0, 20]) }, 20)),
      'tensor "w"', /size mismatch/, /= 24 bytes/, /hold 20/,
    );
    expectFormatError(
      () => parseSafetensors(makeSafetensors({ w: { dtype: 'BF16', shape: [3], data_offsets: [0, 4] } }, 4)),
      'tensor "w"', /size mismatch/,
    );
  });

  it('overlapping offsets', () => {
    expectFormatError(
      () => parseSafetensors(makeSafetensors({ a: F32([2], [0, 8]), b: F32([2], [4, 12]) }, 12)),
      /tensor "b"/, /overlap tensor "a"/,
    );
    expectFormatError(() => parseSafetensors(makeSafetensors({ a: F32([2], [0, 8]), b: F32([2], [0, 8]) }, 8)), /overlap/);
  });

  it('gaps and trailing bytes', () => {
    expectFormatError(() => parseSafetensors(makeSafetensors({ a: F32([1], [0, 4]), b: F32([1], [8, 12]) }, 12)), 'tensor "b"', /begin at 8, expected 4/, /gap/);
    expectFormatError(() => parseSafetensors(makeSafetensors({ a: F32([1], [4, 8]) }, 8)), 'tensor "a"', /gap after the header/);
    expectFormatError(() => parseSafetensors(makeSafetensors({ a: F32([1], [0, 4]) }, 12)), /data region is 12 bytes but the tensors cover only 4/);
  });

  it('bad __metadata__', () => {
    expectFormatError(() => parseSafetensors(makeSafetensors({ __metadata__: { a: 1 } })), /__metadata__ entry "a"/, /string/);
    expectFormatError(() => parseSafetensors(makeSafetensors({ __metadata__: [] })), /__metadata__/);
  });

  it('ignores unknown extra fields in entries, like the reference', () => {
    const { tensors } = parseSafetensors(makeSafetensors({ a: { ...F32([1], [0, 4]), extra: true } }, 4));
    expect(tensors.a.shape).toEqual([1]);
  });

  it('keys like __proto__ are ordinary tensors', () => {
    const { tensors } = parseSafetensors(makeSafetensors('{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4));
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    // no prototype at all: a name missing from the file never finds an inherited member
    expect(Object.getPrototypeOf(tensors)).toBe(null);
  });

  it('the async reader reports the same errors', async () => {
    await expectFormatErrorAsync(
      () => readSafetensorsFromSource(bytesSource(makeSafetensors({ w: F32([2, 3], [0, 20]) }, 20))),
      'tensor "w"', /size mismatch/,
    );
  });
});
