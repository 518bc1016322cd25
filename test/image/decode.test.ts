import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageDecodeError } from '../../image/index';
import { compareBytes, manifest, readBytes } from './fixtures';

const jpegCase = (name: string) => manifest.decode.find((c) => c.file.endsWith(`/${name}.jpg`))!;
const pngCase = (name: string) => manifest.decode.find((c) => c.file.endsWith(`/${name}.png`))!;

/** Byte offsets of the segments of a JPEG up to its first SOS: [marker, start of FF, end]. */
function jpegSegments(b: Uint8Array): [number, number, number][] {
  const out: [number, number, number][] = [];
  let p = 2;
  while (p < b.length) {
    const m = b[p + 1];
    const end = p + 2 + ((b[p + 2] << 8) | b[p + 3]);
    out.push([m, p, end]);
    if (m === 0xda) break;
    p = end;
  }
  return out;
}

function expectDecodeError(bytes: Uint8Array, pattern: RegExp): void {
  let err: unknown;
  try {
    decodeImage(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ImageDecodeError);
  expect((err as Error).message).toMatch(pattern);
}

describe('decodeImage', () => {
  it('sniffs JPEG and PNG by their magic bytes (not by file name)', () => {
    for (const c of [jpegCase('pil_photo37x23_q90_s2'), pngCase('png_rgb8_n_13x7')]) {
      const img = decodeImage(readBytes(c.file));
      expect([img.width, img.height]).toEqual([c.width, c.height]);
      expect(compareBytes(img.data, c)).toBe('');
    }
  });

  it('names unsupported and unknown formats', () => {
    expectDecodeError(new TextEncoder().encode('GIF89a....'), /GIF files are not supported/);
    expectDecodeError(new Uint8Array([0x42, 0x4d, 0, 0]), /BMP/);
    expectDecodeError(new TextEncoder().encode('RIFF....WEBPVP8 '), /WebP/);
    expectDecodeError(new Uint8Array([1, 2, 3, 4, 5]), /unrecognised format \(first bytes 01 02 03 04\)/);
    expectDecodeError(new Uint8Array(0), /empty input/);
    expect(() => decodeImage('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('rejects JPEG variants it does not decode, with the reason', () => {
    const base = readBytes(jpegCase('pil_photo37x23_q90_s2').file);
    const sof = jpegSegments(base).find((s) => s[0] === 0xc0)!;
    const patch = (at: number, value: number): Uint8Array => {
      const b = base.slice();
      b[at] = value;
      return b;
    };
    expectDecodeError(patch(sof[1] + 1, 0xc9), /arithmetic-coded/);
    expectDecodeError(patch(sof[1] + 1, 0xc3), /lossless/);
    expectDecodeError(patch(sof[1] + 1, 0xc5), /hierarchical/);
    expectDecodeError(patch(sof[1] + 4, 12), /12-bit samples are not supported/);
    expectDecodeError(patch(sof[1] + 9, 2), /2-component JPEGs are not supported/);
    const noHeight = patch(sof[1] + 6, 0); // height 0x0017 -> 0x0000: "defined later by DNL"
    expectDecodeError(noHeight, /image height 0/);
  });

  it('reports truncated JPEG and PNG files at every cut point', () => {
    for (const c of [jpegCase('pil_photo37x23_q90_s2'), jpegCase('pil_photo37x23_prog_s2'), jpegCase('cv2_rst3'), pngCase('png_rgba16_i_9x10')]) {
      const full = readBytes(c.file);
      const isJpeg = full[0] === 0xff;
      // A JPEG cut just before its EOI, or a PNG cut after its image data, may still decode (PIL decides by how far
      // libjpeg reads ahead, and ignores what follows the image data): robust.test.ts checks those against PIL.
      const keepAtLeast = isJpeg ? 3 : 12 + 12; // PNG: keep the last IDAT's CRC and the IEND chunk out of reach
      for (let n = 1; n <= full.length - keepAtLeast; n += Math.max(1, Math.floor(full.length / 200))) {
        let err: unknown;
        try {
          decodeImage(full.subarray(0, n));
        } catch (e) {
          err = e;
        }
        expect(err, `${c.file} cut at ${n}`).toBeInstanceOf(ImageDecodeError);
        expect((err as Error).message, `${c.file} cut at ${n}`).toMatch(/truncated|ends early|corrupt|not a|no |missing|bad|CRC/i);
      }
    }
  });

  it('decodes a Motion-JPEG frame without Huffman tables (standard tables)', () => {
    const c = jpegCase('pil_photo37x23_q50_s1');
    const full = readBytes(c.file);
    // Remove every DHT segment: PIL's (non-optimised) tables are the standard ones libjpeg-turbo then falls back to.
    const segs = jpegSegments(full).filter((s) => s[0] === 0xc4);
    const parts: Uint8Array[] = [];
    let p = 0;
    for (const [, start, end] of segs) {
      parts.push(full.subarray(p, start));
      p = end;
    }
    parts.push(full.subarray(p));
    const stripped = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of parts) {
      stripped.set(x, o);
      o += x.length;
    }
    expect(stripped.length).toBeLessThan(full.length);
    expect(compareBytes(decodeImage(stripped).data, c)).toBe('');
  });

  it('reports corrupt data: PNG CRC before the image data, signature', () => {
    const png = readBytes(pngCase('png_rgb8_filter0').file);
    const crcBad = png.slice();
    crcBad[16] ^= 1; // inside IHDR
    expectDecodeError(crcBad, /CRC mismatch in chunk IHDR/);
    expectDecodeError(png.subarray(0, 20), /truncated/);
    const sig = png.slice();
    sig[1] = 0x51;
    expectDecodeError(sig, /unrecognised format/);
  });

  it('refuses images above maxPixels before allocating', () => {
    const c = jpegCase('pil_synth61x47_q90_s2');
    expect(() => decodeImage(readBytes(c.file), { maxPixels: 61 * 47 - 1 })).toThrow(/more than the limit/);
    expect(() => decodeImage(readBytes(pngCase('png_rgb8_n_13x7').file), { maxPixels: 90 })).toThrow(/more than the limit/);
    expect(decodeImage(readBytes(c.file), { maxPixels: 61 * 47 }).width).toBe(61);
  });
});

/** Builds a PNG from an IHDR spec, raw (already filtered) scanlines and extra chunks, with valid CRCs. */
function makePng(w: number, h: number, depth: number, ctype: number, raw: Uint8Array, extra: [string, Uint8Array][] = []): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const c = Buffer.alloc(12 + data.length);
    c.writeUInt32BE(data.length, 0);
    c.write(type, 4, 'latin1');
    Buffer.from(data).copy(c, 8);
    c.writeUInt32BE(zlib.crc32(c.subarray(4, 8 + data.length)), 8 + data.length);
    return c;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = ctype;
  return new Uint8Array(Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    ...extra.map(([t, d]) => chunk(t, d)), chunk('IDAT', new Uint8Array(zlib.deflateSync(raw))), chunk('IEND', new Uint8Array(0)),
  ]));
}

describe('specific corruptions are reported with a reason', () => {
  const base = readBytes(jpegCase('pil_photo37x23_q90_s2').file);
  const segs = jpegSegments(base);
  const at = (m: number) => segs.find((s) => s[0] === m)!;

  it('JPEG tables and scan headers', () => {
    const dht = base.slice();
    dht[at(0xc4)[1] + 5] = 0xff; // a code-length count of 255: more codes than the segment holds
    expectDecodeError(dht, /corrupt DHT segment|bad Huffman table/);
    const dqt = base.slice();
    dqt[at(0xdb)[1] + 4] = 0x20; // precision 2
    expectDecodeError(dqt, /bad quantisation table precision/);
    const sos = base.slice();
    sos[at(0xda)[1] + 5] = 9; // component id 9 does not exist
    expectDecodeError(sos, /unknown component id 9/);
    const sof = base.slice();
    sof[at(0xc0)[1] + 11] = 0x55; // sampling factors 5x5
    expectDecodeError(sof, /bad sampling factors/);
    const noDqt = new Uint8Array([...base.subarray(0, at(0xdb)[1]), ...base.subarray(at(0xdb)[2])]);
    expectDecodeError(noDqt, /quantisation table \d is not defined/);
    expectDecodeError(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), /no SOF marker/);
  });

  it('JPEG progressive scan parameters', () => {
    const prog = readBytes(jpegCase('pil_photo37x23_prog_s2').file);
    const s = jpegSegments(prog).find((x) => x[0] === 0xda)!;
    const bad = prog.slice();
    const ns = bad[s[1] + 4];
    bad[s[1] + 5 + 2 * ns + 1] = 5; // first (DC) scan with Se = 5
    expectDecodeError(bad, /corrupt progressive scan parameters/);
  });

  it('PNG headers and image data', () => {
    const raw = new Uint8Array([0, 1, 2, 3, 0, 4, 5, 6]); // 2 rows of 1 RGB pixel, filter 0
    expect(Array.from(decodeImage(makePng(1, 2, 8, 2, raw)).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expectDecodeError(makePng(1, 2, 8, 2, new Uint8Array([0, 1, 2, 3, 7, 4, 5, 6])), /bad filter type 7/);
    expectDecodeError(makePng(1, 2, 3, 2, raw), /bad bit depth 3 for colour type 2/);
    expectDecodeError(makePng(1, 2, 8, 5, raw), /bad colour type 5/);
    expectDecodeError(makePng(1, 2, 8, 3, raw.subarray(0, 4)), /palette image without PLTE/);
    expectDecodeError(makePng(1, 2, 8, 2, raw.subarray(0, 6)), /truncated/);
    expectDecodeError(makePng(1, 2, 8, 2, new Uint8Array([...raw, 0, 9, 9, 9])), /more data than the image header allows/);
    expectDecodeError(makePng(0, 2, 8, 2, raw), /bad image size 0x2/);
    // tRNS, text and unknown ancillary chunks are skipped.
    expect(decodeImage(makePng(1, 2, 8, 2, raw, [['tEXt', new TextEncoder().encode('a\0b')], ['zzZz', new Uint8Array(3)]])).width).toBe(1);
  });
});
