/**
 * Fuzzing the decoders with mutated fixture files: whatever the bytes, decodeImage must either return a well-formed
 * image or throw an ImageDecodeError with a message -- never hang, never let a RangeError/TypeError out, never report
 * an internal error. PNG mutations are also applied *under* the checksums (CRCs and zlib recomputed) so they reach
 * the inflater, the unfilter and the colour conversion.
 */
import { crc32, deflateSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageDecodeError } from '../../image/index';
import { manifest, readBytes } from './fixtures';

const pick = (names: string[]) =>
  names.map((n) => {
    const c = manifest.decode.find((d) => d.file.endsWith(n));
    if (!c) throw new Error(`fixture ${n} missing`);
    return readBytes(c.file);
  });

const JPEGS = pick([
  'pil_photo37x23_q50_s2.jpg', 'pil_photo37x23_prog_s0.jpg', 'pil_synth61x47_prog_s2.jpg', 'cv2_rst1.jpg',
  'cv2_prog_rst2.jpg', 'pil_gray_prog.jpg', 'enc_440_photo.jpg', 'enc_mixed_photo.jpg', 'enc_420_noninterleaved_rst.jpg',
  'enc_rgb_adobe.jpg', 'pil_tiny_3x3_s2.jpg',
]);
const PNGS = pick([
  'png_rgb8_n_13x7.png', 'png_pal2_i_9x10.png', 'png_gray16_i_13x7.png', 'png_rgba16_n_33x5.png', 'png_graya8_i_3x2.png',
  'png_gray1_n_13x7.png', 'pilpng_P.png',
]);

type Mutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; bytes: number[] };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
) as fc.Arbitrary<Mutation>;

/** Applies mutations; positions are fractions of the current length, squared so headers are hit more often. */
function mutate(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(src);
  for (const m of muts) {
    const at = Math.min(b.length - 1, Math.floor(m.at * m.at * b.length));
    if (b.length === 0) break;
    if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'flip') b[at] ^= 1 << m.bit;
    else if (m.kind === 'cut') b = b.slice(0, at);
    else if (m.kind === 'delete') b.splice(at, m.len);
    else b.splice(at, 0, ...m.bytes);
  }
  return new Uint8Array(b);
}

/** Re-assembles a PNG after mutating its decompressed image data (or its header fields), with valid checksums. */
function mutatePngUnderChecksums(png: Uint8Array, muts: Mutation[], header: boolean): Uint8Array {
  const chunks: [string, Uint8Array][] = [];
  for (let p = 8; p + 12 <= png.length; ) {
    const len = new DataView(png.buffer, png.byteOffset + p).getUint32(0);
    chunks.push([String.fromCharCode(...png.subarray(p + 4, p + 8)), png.subarray(p + 8, p + 8 + len)]);
    p += 12 + len;
  }
  const idat = Buffer.concat(chunks.filter(([t]) => t === 'IDAT').map(([, d]) => d));
  let raw: Uint8Array = new Uint8Array(inflateSync(idat));
  let ihdr = chunks[0][1];
  if (header) ihdr = mutate(ihdr, muts);
  else raw = mutate(raw, muts);
  const out: Uint8Array[] = [png.subarray(0, 8)];
  const put = (type: string, data: Uint8Array) => {
    const c = new Uint8Array(12 + data.length);
    const dv = new DataView(c.buffer);
    dv.setUint32(0, data.length);
    c.set(new TextEncoder().encode(type), 4);
    c.set(data, 8);
    dv.setUint32(8 + data.length, crc32(c.subarray(4, 8 + data.length)));
    out.push(c);
  };
  put('IHDR', ihdr);
  for (const [t, d] of chunks.slice(1)) if (t !== 'IDAT' && t !== 'IEND') put(t, d);
  put('IDAT', new Uint8Array(deflateSync(raw)));
  put('IEND', new Uint8Array(0));
  return new Uint8Array(Buffer.concat(out));
}

function checkDecode(bytes: Uint8Array): void {
  let img;
  try {
    img = decodeImage(bytes, { maxPixels: 1 << 20 });
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e; // a RangeError/TypeError escaping is a decoder bug
    expect(e.message.length).toBeGreaterThan(10);
    expect(e.message).not.toMatch(/internal/);
    return;
  }
  expect(img.data).toBeInstanceOf(Uint8Array);
  expect(img.data.length).toBe(img.width * img.height * 3);
}

describe('decoder fuzzing (fast-check)', () => {
  it('mutated JPEG files', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: JPEGS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, muts) => {
        checkDecode(mutate(JPEGS[i], muts));
      }),
      { numRuns: 6000, seed: 12345 },
    );
  });

  it('mutated PNG files (raw bytes, so mostly CRC errors)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: PNGS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, muts) => {
        checkDecode(mutate(PNGS[i], muts));
      }),
      { numRuns: 1000, seed: 777 },
    );
  });

  it('PNG image data and headers mutated under valid CRCs and zlib streams', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: PNGS.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (i, muts, header) => {
          checkDecode(mutatePngUnderChecksums(PNGS[i], muts, header));
        },
      ),
      { numRuns: 3000, seed: 99 },
    );
  });

  it('random bytes behind a JPEG or PNG signature', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 400 }), (jpeg, tail) => {
        const head = jpeg ? [0xff, 0xd8, 0xff] : [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
        checkDecode(new Uint8Array([...head, ...tail]));
      }),
      { numRuns: 2000, seed: 4 },
    );
  });
});
