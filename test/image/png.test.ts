import { deflateSync, gzipSync, inflateSync, constants as zc } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adler32, crc32 } from '../../core/codec/checksum';
import { zlibCompress } from '../../core/codec/deflate';
import { inflateZlib } from '../../image/inflate';
import { decodePng, encodePng } from '../../image/png';
import { ImageDecodeError } from '../../image/types';
import { compareBytes, manifest, readBytes, sameBytes } from './fixtures';

describe('decodePng matches PIL Image.open(f).convert("RGB") exactly', () => {
  const cases = manifest.decode.filter((c) => c.file.endsWith('.png'));
  it.each(cases.map((c) => [c.file, c] as const))('%s', (_name, c) => {
    const img = decodePng(readBytes(c.file));
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    expect(compareBytes(img.data, c), c.note).toBe('');
  });
});

/** Deterministic pseudo-random bytes with some repetition, so LZ77 finds matches. */
function sampleBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = i > 40 && s % 3 === 0 ? out[i - 1 - (s % 37)] : s & 0x3f;
  }
  return out;
}

describe('inflateZlib', () => {
  const data = sampleBytes(100_000, 42);
  const variants: [string, Parameters<typeof deflateSync>[1]][] = [
    ['stored (level 0)', { level: 0 }],
    ['level 1', { level: 1 }],
    ['level 9 (dynamic Huffman)', { level: 9 }],
    ['fixed Huffman only', { strategy: zc.Z_FIXED }],
    ['Huffman only, no matches', { strategy: zc.Z_HUFFMAN_ONLY }],
    ['run-length matches', { strategy: zc.Z_RLE }],
  ];
  it.each(variants)('decodes node:zlib output: %s', (_n, opts) => {
    const z = new Uint8Array(deflateSync(data, opts));
    expect(sameBytes(inflateZlib(z, data.length, 'test'), data)).toBe(true);
  });

  it('decodes empty and tiny streams', () => {
    for (const n of [0, 1, 2, 3, 258, 259]) {
      const d = sampleBytes(n, 7);
      expect(sameBytes(inflateZlib(new Uint8Array(deflateSync(d)), n, 't'), d)).toBe(true);
    }
  });

  it('rejects a wrong Adler-32, a wrong expected size and truncation', () => {
    const z = new Uint8Array(deflateSync(data));
    const bad = z.slice();
    bad[bad.length - 1] ^= 1;
    expect(() => inflateZlib(bad, data.length, 't')).toThrow(/Adler-32/);
    expect(() => inflateZlib(z, data.length - 1, 't')).toThrow(/more data than/);
    expect(() => inflateZlib(z, data.length + 1, 't')).toThrow(ImageDecodeError);
    expect(() => inflateZlib(z.subarray(0, z.length >> 1), data.length, 't')).toThrow(/truncated/);
    expect(() => inflateZlib(new Uint8Array([0x78, 0x9c]), 5, 't')).toThrow(/truncated/);
    expect(() => inflateZlib(new Uint8Array([0x78, 0x9d, 0, 0]), 5, 't')).toThrow(/zlib header/);
  });
});

describe('checksums', () => {
  it('CRC-32 and Adler-32 agree with zlib (node:zlib crc32 via a gzip trailer, adler via the zlib trailer)', () => {
    const d = sampleBytes(70_000, 3);
    const gz = new Uint8Array(gzipSync(d));
    const crc = (gz[gz.length - 8] | (gz[gz.length - 7] << 8) | (gz[gz.length - 6] << 16) | (gz[gz.length - 5] << 24)) >>> 0;
    expect(crc32(d)).toBe(crc);
    const z = new Uint8Array(deflateSync(d));
    const a = ((z[z.length - 4] << 24) | (z[z.length - 3] << 16) | (z[z.length - 2] << 8) | z[z.length - 1]) >>> 0;
    expect(adler32(d)).toBe(a);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the standard check value
  });
});

describe('zlibCompress / encodePng', () => {
  it('round-trips through node:zlib and through our inflate', () => {
    for (const [n, seed] of [[0, 1], [1, 2], [3, 3], [1000, 4], [200_000, 5]]) {
      const d = sampleBytes(n, seed);
      const z = zlibCompress(d);
      expect(sameBytes(new Uint8Array(inflateSync(z)), d)).toBe(true);
      expect(sameBytes(inflateZlib(z, n, 't'), d)).toBe(true);
    }
    const zeros = new Uint8Array(100_000);
    expect(zlibCompress(zeros).length).toBeLessThan(1000);
  });

  it('round-trips random RGB images', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer(), (w, h, seed) => {
        const data = sampleBytes(w * h * 3, seed);
        const png = encodePng({ width: w, height: h, data });
        const back = decodePng(png);
        expect([back.width, back.height]).toEqual([w, h]);
        expect(sameBytes(back.data, data)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('writes an 8-bit RGB PNG with valid chunk CRCs', () => {
    const png = encodePng({ width: 2, height: 1, data: new Uint8Array([1, 2, 3, 250, 251, 252]) });
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png[8 + 8 + 8]).toBe(8); // bit depth
    expect(png[8 + 8 + 9]).toBe(2); // colour type RGB
  });

  it('validates its argument', () => {
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(11) })).toThrow(/img\.data/);
    expect(() => encodePng({ width: 0, height: 2, data: new Uint8Array(0) })).toThrow(/img\.width/);
  });
});
