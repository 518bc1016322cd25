import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyColormapJet, jetColormap } from '../../image/colormap';
import { showCamOnImage } from '../../image/overlay';
import { resizeBilinearCv } from '../../image/resize';
import { compareBytes, manifest, readBytes, readF32, sha256 } from './fixtures';

describe('JET colormap', () => {
  it('equals cv2.applyColorMap(arange(256), COLORMAP_JET) (converted to RGB) at all 256 entries', () => {
    const lut = jetColormap();
    const expected = readBytes(manifest.colormap.jetRgb);
    const bad: number[] = [];
    for (let i = 0; i < 256; i++) {
      if (lut[3 * i] !== expected[3 * i] || lut[3 * i + 1] !== expected[3 * i + 1] || lut[3 * i + 2] !== expected[3 * i + 2]) bad.push(i);
    }
    expect(bad).toEqual([]);
  });

  // a copy of shared/data/opencv_jet_rgb_256.json (OpenCV 4.6's table, RGB order)
  const sharedCopy = new URL('../fixtures/images/opencv_jet_rgb_256.json', import.meta.url);
  it('equals the shared OpenCV 4.6 table (shared/data/opencv_jet_rgb_256.json)', () => {
    const table: number[][] = JSON.parse(readFileSync(sharedCopy, 'utf8'));
    expect(Array.from(jetColormap())).toEqual(table.flat());
  });

  it('applyColormapJet maps values through the table and returns a fresh copy of it', () => {
    const out = applyColormapJet(new Uint8Array([0, 128, 255]));
    expect(Array.from(out)).toEqual([0, 0, 128, 130, 255, 126, 128, 0, 0]);
    const t = jetColormap();
    t[0] = 99;
    expect(jetColormap()[0]).toBe(0);
  });
});

describe('showCamOnImage matches pytorch-grad-cam show_cam_on_image(img/255, mask, use_rgb=True) byte for byte', () => {
  it.each(manifest.showCam.map((c, i) => [`case ${i}: ${c.width}x${c.height} imageWeight=${c.imageWeight}`, c] as const))(
    '%s',
    (_n, c) => {
      const img = { width: c.width, height: c.height, data: readBytes(c.image) };
      const out = showCamOnImage(img, readF32(c.mask), { imageWeight: c.imageWeight });
      expect(compareBytes(out.data, c)).toBe('');
    },
  );

  it('the whole post-processing chain: 16x16 grid -> min-max -> cv2.resize to 224x224 -> overlay', () => {
    const p = manifest.showCamPipeline;
    const grid = readF32(p.grid);
    // scale_cam_image: img - min, then / (1e-7 + max), in float32.
    let min = Infinity;
    for (const v of grid) min = Math.min(min, v);
    const g = grid.map((v) => Math.fround(v - min));
    let max = -Infinity;
    for (const v of g) max = Math.max(max, v);
    const denom = Math.fround(1e-7 + max);
    const norm = g.map((v) => Math.fround(v / denom));
    const mask = resizeBilinearCv(norm, p.gridWidth, p.gridHeight, 1, p.width, p.height);
    expect(sha256(mask)).toBe(p.maskSha256);
    const out = showCamOnImage({ width: p.width, height: p.height, data: readBytes(p.image) }, mask, {
      imageWeight: p.imageWeight,
    });
    expect(sha256(out.data)).toBe(p.sha256);
  });

  it('validates its arguments, naming them', () => {
    const img = { width: 2, height: 1, data: new Uint8Array(6) };
    const cam = new Float32Array([0, 1]);
    expect(() => showCamOnImage(img, new Float32Array(3))).toThrow(/cam has 3 values/);
    expect(() => showCamOnImage(img, cam, { imageWeight: 1.5 })).toThrow(/imageWeight/);
    expect(() => showCamOnImage(img, cam, { imageWeight: -0.1 })).toThrow(/imageWeight/);
    expect(() => showCamOnImage(img, cam, { imageWeight: Number.NaN })).toThrow(/imageWeight/);
    expect(() => showCamOnImage(img, new Float32Array([0, 1.01]))).toThrow(/cam\[1\]/);
    expect(() => showCamOnImage(img, new Float32Array([Number.NaN, 0]))).toThrow(/cam\[0\]/);
    expect(() => showCamOnImage({ width: 2, height: 1, data: new Uint8Array(5) }, cam)).toThrow(/img\.data/);
    expect(() => showCamOnImage(img, [0, 1] as unknown as Float32Array)).toThrow(/cam must be a Float32Array/);
    // Tiny overshoots that NumPy's uint8 cast still handles are accepted.
    expect(showCamOnImage(img, new Float32Array([-1e-6, 1.000001])).data.length).toBe(6);
  });

  it('a black image at imageWeight 1 gives zeros (NumPy: 0/0 -> NaN -> uint8 0)', () => {
    const out = showCamOnImage({ width: 1, height: 1, data: new Uint8Array(3) }, new Float32Array([0.5]), { imageWeight: 1 });
    expect(Array.from(out.data)).toEqual([0, 0, 0]);
  });
});

describe("showCamOnImage style 'finer-cam' matches the seed's visualize.py (OpenCV) byte for byte", () => {
  const fx = JSON.parse(readFileSync(new URL('../fixtures/images/overlay-finer.json', import.meta.url), 'utf8')) as {
    cases: { width: number; height: number; imageWeight: number; image: number[]; cam: number[]; expected: number[] }[];
  };
  it.each(fx.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    const out = showCamOnImage({ width: c.width, height: c.height, data: Uint8Array.from(c.image) }, Float32Array.from(c.cam), {
      style: 'finer-cam', imageWeight: c.imageWeight,
    });
    expect(Array.from(out.data)).toEqual(c.expected);
  });

  it('rejects an unknown style by name', () => {
    const img = { width: 1, height: 1, data: new Uint8Array(3) };
    expect(() => showCamOnImage(img, new Float32Array(1), { style: 'seed' as never })).toThrow(/style must be 'grad-cam' or 'finer-cam'/);
  });
});
