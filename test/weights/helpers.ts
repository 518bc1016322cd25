// Shared helpers for the weight-format tests: fixtures, expected-value checks, and tiny builders for zips,
// safetensors files and pickles used to craft malformed inputs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { expect } from 'vitest';
import { type RawTensor, WeightsFormatError, crc32 } from '../../models/weights';

export const FIXTURES = fileURLToPath(new URL('../fixtures/weights/', import.meta.url));

export function fixturePath(name: string): string {
  return FIXTURES + name;
}

export function fixture(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

export interface ExpectedTensor {
  dtype: string;
  sourceDtype: string;
  shape: number[];
  values: (number | string)[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const EXPECTED: Record<string, any> = JSON.parse(readFileSync(fixturePath('expected.json'), 'utf8'));

function decodeValue(v: number | string): number {
  return typeof v === 'string' ? Number(v) : v; // 'NaN', 'Infinity', '-Infinity'
}

/** Exact comparison: dtype, source dtype, shape, and every value (Object.is, so -0 and NaN are checked). */
export function expectTensor(actual: RawTensor | undefined, exp: ExpectedTensor, key = ''): void {
  expect(actual, `tensor "${key}" missing`).toBeDefined();
  const t = actual!;
  expect(t.dtype, key).toBe(exp.dtype);
  expect(t.sourceDtype, key).toBe(exp.sourceDtype);
  expect(t.shape, key).toEqual(exp.shape);
  const want = exp.values.map(decodeValue);
  expect(t.data.length, key).toBe(want.length);
  const got = Array.from(t.data as ArrayLike<number>, Number);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`tensor "${key}" element ${i}: got ${got[i]}, expected ${want[i]}`);
  }
  if (t.dtype === 'float32') expect(t.data).toBeInstanceOf(Float32Array);
  if (t.dtype === 'int32') expect(t.data).toBeInstanceOf(Int32Array);
  if (t.dtype === 'bool') expect(t.data).toBeInstanceOf(Uint8Array);
}

export function expectTensors(actual: Record<string, RawTensor>, expected: Record<string, ExpectedTensor>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [k, e] of Object.entries(expected)) expectTensor(actual[k], e, k);
}

/** Asserts that `fn` throws a WeightsFormatError whose message matches every pattern. */
export function expectFormatError(fn: () => unknown, ...patterns: (string | RegExp)[]): WeightsFormatError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) throw new Error('expected a WeightsFormatError, nothing was thrown');
  if (!(caught instanceof WeightsFormatError)) throw new Error(`expected a WeightsFormatError, got ${String(caught)}`);
  for (const p of patterns) expect(caught.message).toMatch(p);
  return caught;
}

export async function expectFormatErrorAsync(fn: () => Promise<unknown>, ...patterns: (string | RegExp)[]): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof WeightsFormatError)) throw new Error(`expected a WeightsFormatError, got ${String(caught)}`);
  for (const p of patterns) expect(caught.message).toMatch(p);
}

export const utf8 = (s: string) => new TextEncoder().encode(s);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A safetensors file from an arbitrary header object (or raw header text) and a data region. */
export function makeSafetensors(header: unknown, data: Uint8Array | number = 0): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = utf8(text);
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

export interface ZipSpec {
  name: string;
  data: Uint8Array;
  /** 0 stored (default) or 8 deflate. */
  method?: 0 | 8;
  /** Write 0xffffffff sizes/offset in the central directory with a zip64 extra field. */
  zip64?: boolean;
}

/** Builds a zip the way most writers do (local headers with sizes, central directory, EOCD [+ zip64 EOCD]). */
export function buildZip(specs: ZipSpec[], opts: { zip64Eocd?: boolean } = {}): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const s of specs) {
    const name = utf8(s.name);
    const method = s.method ?? 0;
    const body = method === 8 ? new Uint8Array(deflateRawSync(s.data)) : s.data;
    const crc = crc32(s.data);
    const lh = new Uint8Array(30);
    const lv = new DataView(lh.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, s.data.length, true);
    lv.setUint16(26, name.length, true);
    locals.push(lh, name, body);
    const extra = s.zip64 ? new Uint8Array(4 + 24) : new Uint8Array(0);
    if (s.zip64) {
      const ev = new DataView(extra.buffer);
      ev.setUint16(0, 1, true);
      ev.setUint16(2, 24, true);
      ev.setBigUint64(4, BigInt(s.data.length), true);
      ev.setBigUint64(12, BigInt(body.length), true);
      ev.setBigUint64(20, BigInt(offset), true);
    }
    const ch = new Uint8Array(46);
    const cv = new DataView(ch.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, s.zip64 ? 0xffffffff : body.length, true);
    cv.setUint32(24, s.zip64 ? 0xffffffff : s.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint32(42, s.zip64 ? 0xffffffff : offset, true);
    centrals.push(ch, name, extra);
    offset += 30 + name.length + body.length;
  }
  const cd = concat(...centrals);
  const tail: Uint8Array[] = [];
  if (opts.zip64Eocd) {
    const z = new Uint8Array(56);
    const zv = new DataView(z.buffer);
    zv.setUint32(0, 0x06064b50, true);
    zv.setBigUint64(4, 44n, true);
    zv.setBigUint64(24, BigInt(specs.length), true);
    zv.setBigUint64(32, BigInt(specs.length), true);
    zv.setBigUint64(40, BigInt(cd.length), true);
    zv.setBigUint64(48, BigInt(offset), true);
    const loc = new Uint8Array(20);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, 0x07064b50, true);
    lv.setBigUint64(8, BigInt(offset + cd.length), true);
    lv.setUint32(16, 1, true);
    tail.push(z, loc);
  }
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, opts.zip64Eocd ? 0xffff : specs.length, true);
  ev.setUint16(10, opts.zip64Eocd ? 0xffff : specs.length, true);
  ev.setUint32(12, opts.zip64Eocd ? 0xffffffff : cd.length, true);
  ev.setUint32(16, opts.zip64Eocd ? 0xffffffff : offset, true);
  return concat(...locals, cd, ...tail, eocd);
}

/** Assembles pickle bytes: numbers are opcode/raw bytes, strings are latin1 text, arrays are raw bytes. */
export function pickleBytes(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i) & 0xff);
    else out.push(...p);
  }
  return new Uint8Array(out);
}

/** BINUNICODE of `s`. */
export function pstr(s: string): Uint8Array {
  const b = utf8(s);
  const out = new Uint8Array(5 + b.length);
  out[0] = 0x58;
  new DataView(out.buffer).setUint32(1, b.length, true);
  out.set(b, 5);
  return out;
}
