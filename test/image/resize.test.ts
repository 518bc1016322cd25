import { describe, expect, it } from 'vitest';
import { resizeBicubicPil, resizeBilinearCv } from '../../image/resize';
import { compareBytes, genU32, manifest, readBytes, readF32, sha256 } from './fixtures';

const bytesOf = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('resizeBicubicPil matches PIL Image.resize(..., BICUBIC) exactly', () => {
  it.each(manifest.bicubic.map((c) => [`${c.src} ${c.srcWidth}x${c.srcHeight} -> ${c.width}x${c.height}`, c] as const))(
    '%s',
    (_n, c) => {
      const src = { width: c.srcWidth, height: c.srcHeight, data: readBytes(c.src) };
      const out = resizeBicubicPil(src, c.width, c.height);
      expect([out.width, out.height]).toEqual([c.width, c.height]);
      expect(compareBytes(out.data, c)).toBe('');
    },
  );
});

describe('resizeBilinearCv matches cv2.resize(..., INTER_LINEAR)', () => {
  it.each(manifest.linearF32.map((c) => [`f32 ${c.srcWidth}x${c.srcHeight}x${c.channels} -> ${c.width}x${c.height}`, c] as const))(
    '%s (bit-identical float32)',
    (_n, c) => {
      const out = resizeBilinearCv(readF32(c.src), c.srcWidth, c.srcHeight, c.channels!, c.width, c.height);
      expect(out).toBeInstanceOf(Float32Array);
      if (c.expected) {
        const exp = readF32(c.expected);
        let maxDiff = 0;
        let count = 0;
        for (let i = 0; i < exp.length; i++) {
          const d = Math.abs(out[i] - exp[i]);
          if (d > 0) count++;
          maxDiff = Math.max(maxDiff, d);
        }
        expect(out.length).toBe(exp.length);
        expect({ count, maxDiff }).toEqual({ count: 0, maxDiff: 0 });
      } else {
        expect(sha256(bytesOf(out))).toBe(c.sha256);
      }
    },
  );
  it.each(manifest.linearU8.map((c) => [`u8 ${c.srcWidth}x${c.srcHeight}x${c.channels} -> ${c.width}x${c.height}`, c] as const))(
    '%s (exact)',
    (_n, c) => {
      const out = resizeBilinearCv(readBytes(c.src), c.srcWidth, c.srcHeight, c.channels!, c.width, c.height);
      expect(out).toBeInstanceOf(Uint8Array);
      expect(compareBytes(out, c)).toBe('');
    },
  );
});

describe('random-size sweeps (inputs regenerated here, expected SHA-256 from PIL / OpenCV)', () => {
  it(`cv2.resize INTER_LINEAR: ${manifest.sweeps.linear.length} float32/uint8 cases, 1-4 channels`, () => {
    const bad: string[] = [];
    for (const c of manifest.sweeps.linear) {
      const x = genU32(c.srcWidth * c.srcHeight * c.channels, c.seed);
      const out =
        c.dtype === 'f32'
          ? bytesOf(resizeBilinearCv(Float32Array.from(x, (v) => (v >>> 8) / 2 ** 24), c.srcWidth, c.srcHeight, c.channels, c.width, c.height))
          : resizeBilinearCv(Uint8Array.from(x, (v) => v & 255), c.srcWidth, c.srcHeight, c.channels, c.width, c.height);
      if (sha256(out) !== c.sha256) bad.push(`${c.dtype} ${c.srcWidth}x${c.srcHeight}x${c.channels}->${c.width}x${c.height}`);
    }
    expect(bad).toEqual([]);
  });
  it(`PIL BICUBIC: ${manifest.sweeps.bicubic.length} RGB cases`, () => {
    const bad: string[] = [];
    for (const c of manifest.sweeps.bicubic) {
      const data = Uint8Array.from(genU32(c.srcWidth * c.srcHeight * 3, c.seed), (v) => v & 255);
      const out = resizeBicubicPil({ width: c.srcWidth, height: c.srcHeight, data }, c.width, c.height);
      if (sha256(out.data) !== c.sha256) bad.push(`${c.srcWidth}x${c.srcHeight}->${c.width}x${c.height}`);
    }
    expect(bad).toEqual([]);
  });
});
