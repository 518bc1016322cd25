import { describe, expect, it } from 'vitest';
import { decodeJpeg } from '../../image/jpeg';
import { STANDARD_TABLES } from '../../image/jpeg-huffman';
import { compareBytes, manifest, readBytes } from './fixtures';

describe('decodeJpeg matches PIL Image.open(f).convert("RGB") exactly', () => {
  const cases = manifest.decode.filter((c) => c.file.endsWith('.jpg'));
  it.each(cases.map((c) => [c.file, c] as const))('%s', (_name, c) => {
    const img = decodeJpeg(readBytes(c.file));
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    expect(compareBytes(img.data, c), c.note).toBe('');
  });
});

describe('the built-in standard Huffman tables (JPEG Annex K.3, used when a file has no DHT)', () => {
  /** The DHT tables of a JPEG as hex strings keyed by class/index (0x00, 0x10, 0x01, 0x11). */
  function dhtTables(b: Uint8Array): Map<number, string> {
    const out = new Map<number, string>();
    for (let p = 2; b[p + 1] !== 0xda; p += 2 + ((b[p + 2] << 8) | b[p + 3])) {
      if (b[p + 1] !== 0xc4) continue;
      const end = p + 2 + ((b[p + 2] << 8) | b[p + 3]);
      for (let q = p + 4; q < end; ) {
        const n = b.subarray(q + 1, q + 17).reduce((a, v) => a + v, 0);
        out.set(b[q], Buffer.from(b.subarray(q + 1, q + 17 + n)).toString('hex'));
        q += 17 + n;
      }
    }
    return out;
  }

  it('each table has exactly as many symbols as its code-length counts say', () => {
    for (const hex of [...STANDARD_TABLES.dc, ...STANDARD_TABLES.ac]) {
      const counts = Buffer.from(hex.slice(0, 32), 'hex').reduce((a, v) => a + v, 0);
      expect(hex.length / 2 - 16).toBe(counts);
    }
  });

  it('equal the tables libjpeg writes (a PIL-written JPEG, optimize=False)', () => {
    const written = dhtTables(readBytes(manifest.decode.find((c) => c.file.endsWith('/pil_photo37x23_q50_s1.jpg'))!.file));
    expect(written.get(0x00)).toBe(STANDARD_TABLES.dc[0]);
    expect(written.get(0x01)).toBe(STANDARD_TABLES.dc[1]);
    expect(written.get(0x10)).toBe(STANDARD_TABLES.ac[0]);
    expect(written.get(0x11)).toBe(STANDARD_TABLES.ac[1]);
  });
});
