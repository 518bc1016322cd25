import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ZipArchive, blobSource, crc32, inflateRaw, openZip, openZipFile } from '../../models/weights';
import { buildZip, expectFormatError, expectFormatErrorAsync, fixture, fixturePath, utf8 } from './helpers';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('ZipArchive', () => {
  it('lists and reads a torch.save archive (stored entries, data descriptors, zip64 end record)', () => {
    const zip = new ZipArchive(fixture('linear.pth'));
    expect(zip.entries.map((e) => e.name)).toEqual(['linear/data.pkl', 'linear/data/0', 'linear/data/1', 'linear/version']);
    expect(zip.entries.every((e) => e.method === 0)).toBe(true);
    expect(zip.entries[0].flags & 8).toBe(8); // sizes only in the central directory
    expect(text(zip.read('linear/version'))).toBe('3\n');
    expect(zip.read('linear/data/0').length).toBe(3 * 4 * 4);
    expect(zip.read(zip.entry('linear/data.pkl')!, { verifyCrc: true })[0]).toBe(0x80);
  });

  it('reads stored and deflated entries of a plain zip, with and without zip64 fields', () => {
    const big = new Uint8Array(5000).map((_, i) => (i * 7) % 13);
    for (const zip64Eocd of [false, true]) {
      const bytes = buildZip([
        { name: 'a.txt', data: utf8('hello') },
        { name: 'dir/b.bin', data: big, method: 8 },
        { name: 'c.bin', data: big, zip64: true },
        { name: 'empty', data: new Uint8Array(0) },
      ], { zip64Eocd });
      const zip = new ZipArchive(bytes);
      expect(text(zip.read('a.txt'))).toBe('hello');
      expect(zip.read('dir/b.bin')).toEqual(big);
      expect(zip.read('c.bin', { verifyCrc: true })).toEqual(big);
      expect(zip.read('empty').length).toBe(0);
      expect(zip.entry('dir/b.bin')!.compressedSize).toBeLessThan(big.length);
    }
  });

  it('openZip / openZipFile read by ranges and give the same bytes', async () => {
    const bytes = fixture('linear_deflated.pth');
    const mem = new ZipArchive(bytes);
    const viaFile = await openZipFile(fixturePath('linear_deflated.pth'));
    const viaBlob = await openZip(blobSource(new Blob([bytes])));
    try {
      for (const z of [viaFile, viaBlob]) {
        expect(z.entries).toEqual(mem.entries);
        for (const e of mem.entries) expect(await z.read(e.name)).toEqual(mem.read(e.name));
      }
      await expectFormatErrorAsync(() => viaFile.read('nope'), /no entry named "nope"/);
    } finally {
      await viaFile.close();
      await viaBlob.close();
    }
  });

  it('truncated zips', () => {
    const bytes = fixture('linear.pth');
    for (const cut of [0, 10, 21, 500, bytes.length - 1, bytes.length - 30]) {
      expectFormatError(() => new ZipArchive(bytes.subarray(0, cut)), /zip: .*(truncated|too small)/);
    }
    // Keep the directory but drop the middle: the entries now point past their data.
    const tailOnly = bytes.subarray(bytes.length - 600);
    expectFormatError(() => new ZipArchive(tailOnly), /zip: /);
  });

  it('corrupt directory and entries', () => {
    const good = buildZip([{ name: 'a', data: utf8('abc') }, { name: 'b', data: utf8('xyz'), method: 8 }]);
    const cdAt = good.length - 22 - (46 + 1) * 2;
    const mutate = (at: number, v: number) => { const b = good.slice(); b[at] = v; return b; };
    expectFormatError(() => new ZipArchive(mutate(cdAt, 0)), /central directory entry 0 .* corrupt/);
    expectFormatError(() => new ZipArchive(mutate(cdAt + 10, 12)), /entry "a": unsupported compression method 12/);
    expectFormatError(() => new ZipArchive(mutate(cdAt + 8, 1)), /entry "a": encrypted/);
    expectFormatError(() => new ZipArchive(mutate(good.length - 22 + 16, 0xff)), /central directory .* extends past/);
    expectFormatError(() => new ZipArchive(mutate(good.length - 22 + 10, 200)), /200 entries cannot fit/);
    expectFormatError(() => new ZipArchive(mutate(cdAt + 20, 2)).read('a'), /stored entry has compressed size 2 but uncompressed size 3/);
    expectFormatError(() => new ZipArchive(mutate(0, 0)).read('a'), /entry "a": expected a local file header/);
    expectFormatError(() => new ZipArchive(mutate(30 + 1, utf8('q')[0])).read('a', { verifyCrc: true }), /entry "a": CRC-32 mismatch/);
    // A deflated entry whose recorded size is absurd for its compressed size is refused before allocating.
    const b = good.slice();
    new DataView(b.buffer).setUint32(cdAt + 47 + 24, 0xfffffff0, true);
    expectFormatError(() => new ZipArchive(b), /entry "b": uncompressed size 4294967280 is impossible/);
    expectFormatError(() => new ZipArchive(buildZip([{ name: 'a', data: utf8('1') }, { name: 'a', data: utf8('2') }])), /duplicate entry name/);
  });

  it('corrupt deflate data is an error, never a crash', () => {
    const data = utf8('the quick brown fox jumps over the lazy dog '.repeat(20));
    const good = buildZip([{ name: 'x', data, method: 8 }]);
    expect(new ZipArchive(good).read('x')).toEqual(data);
    const bad = good.slice();
    bad[35] ^= 0xff;
    expectFormatError(() => new ZipArchive(bad).read('x'), /entry "x"/);
  });
});

describe('inflateRaw and crc32', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(utf8('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('inflates what zlib deflates (stored, fixed and dynamic blocks)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.constantFrom(0, 1, 2, 250), { maxLength: 20000 }).map((a) => new Uint8Array(a))),
        fc.integer({ min: 0, max: 9 }),
        (data, level) => {
          const z = new Uint8Array(deflateRawSync(data, { level }));
          expect(inflateRaw(z, data.length, 'test')).toEqual(data);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses streams that inflate to more or less than the recorded size, and garbage', () => {
    const data = utf8('abcabcabcabcabcabc');
    const z = new Uint8Array(deflateRawSync(data));
    expectFormatError(() => inflateRaw(z, data.length - 1, 'e'), /more than the 17 bytes/);
    expectFormatError(() => inflateRaw(z, data.length + 1, 'e'), /inflated to 18 bytes, expected 19/);
    expectFormatError(() => inflateRaw(z.subarray(0, 3), data.length, 'e'), /truncated/);
    expectFormatError(() => inflateRaw(new Uint8Array([0xff, 0xff]), 10, 'e'), /e: /);
  });
});
