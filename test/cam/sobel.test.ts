// sobelCam against pytorch-grad-cam's sobel_cam (OpenCV 4.6) byte for byte
// (test/reference/make_cam_extras_fixtures.py → test/fixtures/cam-extras/sobel.json).
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { loadFixture } from '../helpers/fixtures';

interface SobelCase { name: string; height: number; width: number; rgb: number[]; sobel: number[] }
const fx = loadFixture<{ cases: SobelCase[] }>('cam-extras/sobel.json');

describe('sobelCam', () => {
  for (const c of fx.cases) {
    test(`${c.name} ${c.height}×${c.width}: OpenCV's bytes`, () => {
      const s = F.sobelCam({ width: c.width, height: c.height, data: Uint8Array.from(c.rgb) });
      expect([s.height, s.width]).toEqual([c.height, c.width]);
      expect(Array.from(s.data)).toEqual(c.sobel);
    });
  }
  test('a flat image has no edges; a 1-pixel image works', () => {
    expect(Array.from(F.sobelCam({ width: 3, height: 2, data: new Uint8Array(18).fill(77) }).data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(F.sobelCam({ width: 1, height: 1, data: Uint8Array.from([1, 2, 3]) }).data)).toEqual([0]);
  });
  test('bad input: named errors', () => {
    expect(() => F.sobelCam({ width: 2, height: 2, data: new Uint8Array(11) })).toThrow(/sobelCam: img\.data has 11 bytes, expected width\*height\*3 = 12/);
    expect(() => F.sobelCam(null as unknown as F.RgbImage)).toThrow(/sobelCam: img must be an RgbImage/);
  });
});
