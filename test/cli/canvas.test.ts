import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BLACK,
  blit,
  createImage,
  crop,
  encodePpm,
  fillRect,
  getPixel,
  imageFromData,
  resizeNearest,
  setPixel,
  WHITE,
  type Rgb,
  type RgbImage,
} from '../../image/canvas';
import { CHAR_ADVANCE, drawText, fitText, glyphRows, GLYPH_HEIGHT, GLYPH_WIDTH, measureText } from '../../image/font';
import { composeStrip, scaledTileWidth } from '../../cli/util/strip';

const RED: Rgb = [255, 0, 0];

function inkBox(img: RgbImage, bg: Rgb): { x0: number; y0: number; x1: number; y1: number; count: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  let count = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = getPixel(img, x, y);
      if (p[0] !== bg[0] || p[1] !== bg[1] || p[2] !== bg[2]) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
        count++;
      }
    }
  }
  return { x0, y0, x1, y1, count };
}

describe('canvas', () => {
  it('creates, fills (clipped) and reads pixels', () => {
    const img = createImage(7, 5);
    expect(img.data.length).toBe(7 * 5 * 3);
    expect(getPixel(img, 6, 4)).toEqual([255, 255, 255]);
    fillRect(img, -2, -2, 4, 3, RED); // covers x 0..1, y 0
    expect(getPixel(img, 0, 0)).toEqual(RED);
    expect(getPixel(img, 1, 0)).toEqual(RED);
    expect(getPixel(img, 2, 0)).toEqual(WHITE);
    expect(getPixel(img, 0, 1)).toEqual(WHITE);
    fillRect(img, 5, 3, 100, 100, BLACK);
    expect(inkBox(img, WHITE)).toEqual({ x0: 0, y0: 0, x1: 6, y1: 4, count: 2 + 4 });
    setPixel(img, 99, 0, RED); // ignored
    setPixel(img, 3, 2, RED);
    expect(getPixel(img, 3, 2)).toEqual(RED);
    expect(() => imageFromData(2, 2, new Uint8Array(11))).toThrow(/12/);
    expect(() => createImage(-1, 2)).toThrow(RangeError);
  });

  it('blit copies and scales with nearest (pixel-centre) sampling', () => {
    const src = createImage(2, 2);
    setPixel(src, 0, 0, [1, 2, 3]);
    setPixel(src, 1, 0, [4, 5, 6]);
    setPixel(src, 0, 1, [7, 8, 9]);
    setPixel(src, 1, 1, [10, 11, 12]);
    const up = resizeNearest(src, 4, 6);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 4; x++) expect(getPixel(up, x, y)).toEqual(getPixel(src, x >> 1, Math.floor(y / 3)));
    }
    const dst = createImage(3, 3, BLACK);
    blit(dst, src, 2, -1); // only src (0,1) lands inside, at (2,0)
    expect(getPixel(dst, 2, 0)).toEqual([7, 8, 9]);
    expect(inkBox(dst, BLACK).count).toBe(1);
    expect(crop(up, 2, 3, 2, 3).data).toEqual(resizeNearest(createImageFrom([10, 11, 12]), 2, 3).data);
    expect(() => crop(up, 3, 0, 2, 1)).toThrow(RangeError);
  });

  it('downscaling by an integer factor picks the centre-ish source pixel', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), (w, h, k) => {
        const src = createImage(w * k, h * k, BLACK);
        for (let i = 0; i < src.data.length; i++) src.data[i] = (i * 7) & 255;
        const out = resizeNearest(src, w, h);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) expect(getPixel(out, x, y)).toEqual(getPixel(src, x * k + (k >> 1), y * k + (k >> 1)));
        }
      }),
    );
  });

  it('encodes PPM', () => {
    const ppm = encodePpm(createImage(2, 1, RED));
    expect(new TextDecoder().decode(ppm.subarray(0, 11))).toBe('P6\n2 1\n255\n');
    expect(Array.from(ppm.subarray(11))).toEqual([255, 0, 0, 255, 0, 0]);
  });
});

function createImageFrom(rgb: Rgb): RgbImage {
  return createImage(1, 1, rgb);
}

describe('font', () => {
  it('has 5x7 glyphs for all printable ASCII, distinct and non-empty except space', () => {
    const seen = new Set<string>();
    for (let c = 0x20; c <= 0x7e; c++) {
      const rows = glyphRows(String.fromCharCode(c));
      expect(rows.length).toBe(GLYPH_HEIGHT);
      for (const r of rows) expect(r).toBeLessThan(1 << GLYPH_WIDTH);
      const key = rows.join(',');
      expect(seen.has(key), String.fromCharCode(c)).toBe(false);
      seen.add(key);
      if (c !== 0x20) expect(rows.some((r) => r !== 0)).toBe(true);
    }
    expect(glyphRows(' ').every((r) => r === 0)).toBe(true);
    expect(glyphRows('\u00e9')).toEqual(glyphRows('?'));
  });

  it('glyph bits match the bitmap (A, I, underscore)', () => {
    expect(glyphRows('A')).toEqual([0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001]);
    expect(glyphRows('I')).toEqual([0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110]);
    expect(glyphRows('_')).toEqual([0, 0, 0, 0, 0, 0, 0b11111]);
  });

  it('measures text', () => {
    expect(measureText('')).toEqual({ width: 0, height: 7 });
    expect(measureText('A')).toEqual({ width: 5, height: 7 });
    expect(measureText('Hello')).toEqual({ width: 29, height: 7 });
    expect(measureText('Hello', 3)).toEqual({ width: 87, height: 21 });
    expect(measureText('ab\nlonger')).toEqual({ width: 35, height: 15 });
  });

  it('draws each glyph bit as a scale x scale block inside the measured box', () => {
    const img = createImage(40, 30);
    const size = drawText(img, 3, 4, 'A', { color: RED, scale: 2 });
    expect(size).toEqual({ width: 10, height: 14 });
    const rows = glyphRows('A');
    for (let y = 0; y < 30; y++) {
      for (let x = 0; x < 40; x++) {
        const gx = Math.floor((x - 3) / 2);
        const gy = Math.floor((y - 4) / 2);
        const on = gx >= 0 && gx < 5 && gy >= 0 && gy < 7 && (rows[gy]! & (1 << (4 - gx))) !== 0;
        expect(getPixel(img, x, y)).toEqual(on ? RED : WHITE);
      }
    }
  });

  it('keeps ink inside the measured box for random strings, and fills the background', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.integer({ min: 1, max: 3 }), (text, scale) => {
        const img = createImage(120, 40);
        const size = drawText(img, 5, 6, text, { scale, color: BLACK });
        const box = inkBox(img, WHITE);
        if (box.count > 0) {
          expect(box.x0).toBeGreaterThanOrEqual(5);
          expect(box.y0).toBeGreaterThanOrEqual(6);
          expect(box.x1).toBeLessThan(5 + size.width);
          expect(box.y1).toBeLessThan(6 + size.height);
        }
      }),
    );
    const img = createImage(30, 12);
    const s = drawText(img, 2, 2, 'Hi', { background: RED, color: BLACK });
    const box = inkBox(img, WHITE);
    expect(box).toMatchObject({ x0: 2, y0: 2, x1: 2 + s.width - 1, y1: 2 + s.height - 1, count: s.width * s.height });
  });

  it('clips text at the image border without throwing', () => {
    const img = createImage(8, 5);
    drawText(img, -3, -2, 'WW', { scale: 2 });
    drawText(img, 6, 3, 'x');
    expect(inkBox(img, WHITE).count).toBeGreaterThan(0);
  });

  it('fitText shortens with ..', () => {
    expect(fitText('Finer-Compare', 100)).toBe('Finer-Compare');
    const short = fitText('Finer-Compare', 40);
    expect(short.endsWith('..')).toBe(true);
    expect(measureText(short).width).toBeLessThanOrEqual(40);
    expect(measureText(fitText('Finer-Compare', 40).slice(0, -2) + 'X..').width).toBeGreaterThan(40);
    expect(fitText('abc', 5)).toBe('');
    expect(CHAR_ADVANCE).toBe(6);
  });
});

describe('composeStrip', () => {
  it('lays tiles side by side under label bands with the documented size', () => {
    const a = createImage(64, 64, RED);
    const b = createImage(32, 16, [0, 0, 255]);
    const strip = composeStrip([a, b], ['Original Image', 'Finer-Compare'], { tileHeight: 96 });
    const labelHeight = 7 + 8;
    expect(scaledTileWidth(b, 96)).toBe(192);
    expect(strip.width).toBe(10 + 96 + 10 + 192 + 10);
    expect(strip.height).toBe(10 + labelHeight + 96 + 10);
    // tiles
    expect(getPixel(strip, 10, 10 + labelHeight)).toEqual(RED);
    expect(getPixel(strip, 10 + 95, 10 + labelHeight + 95)).toEqual(RED);
    expect(getPixel(strip, 10 + 96, 10 + labelHeight)).toEqual(WHITE); // gap
    expect(getPixel(strip, 116, 10 + labelHeight)).toEqual([0, 0, 255]);
    expect(getPixel(strip, 116 + 191, strip.height - 11)).toEqual([0, 0, 255]);
    expect(getPixel(strip, 116 + 192, strip.height - 11)).toEqual(WHITE);
    // label ink lies inside each band, above its own tile, centred
    const band0 = crop(strip, 10, 10, 96, labelHeight);
    const band1 = crop(strip, 116, 10, 192, labelHeight);
    const box0 = inkBox(band0, WHITE);
    const box1 = inkBox(band1, WHITE);
    expect(box0.count).toBeGreaterThan(0);
    expect(box1.count).toBeGreaterThan(0);
    const w1 = measureText('Finer-Compare').width;
    expect(box1.x0).toBe(Math.floor((192 - w1) / 2));
    expect(Math.abs(box1.x0 + box1.x1 - 191)).toBeLessThanOrEqual(2);
    // nothing but white in the margins above the bands
    expect(inkBox(crop(strip, 0, 0, strip.width, 10), WHITE).count).toBe(0);
  });

  it('shortens labels that do not fit and validates inputs', () => {
    const t = createImage(20, 20, BLACK);
    const strip = composeStrip([t], ['A very long label indeed'], { margin: 2 });
    expect(strip.width).toBe(24);
    const band = crop(strip, 2, 2, 20, 15);
    expect(inkBox(band, WHITE).count).toBeGreaterThan(0);
    expect(() => composeStrip([t], [])).toThrow(/labels/);
    const two = composeStrip([t], ['two\nlines']);
    expect(two.height).toBe(10 + 15 + 8 + 20 + 10);
  });
});
