/**
 * Damaged and unusual files against PIL (test/fixtures/images/robust/, written by
 * test/reference/make_image_robust_fixtures.py): every file PIL opens must decode to exactly PIL's
 * Image.open(f).convert('RGB'), and every file PIL refuses must give an ImageDecodeError.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, ImageDecodeError } from '../../image/index';
import { FIXTURES, readBytes, sha256 } from './fixtures';

export interface RobustCase {
  file: string;
  note: string;
  error?: string;
  width?: number;
  height?: number;
  pilMode?: string;
  sha256?: string;
  samples?: [number, number, number, number, number][];
}
type Group = 'jpegNoDht' | 'jpegDamaged' | 'jpegCmyk' | 'png' | 'bmp';
export const robust: Record<Group, RobustCase[]> = JSON.parse(
  readFileSync(join(FIXTURES, 'robust', 'manifest.json'), 'utf8'),
);
export const robustBytes = (c: RobustCase): Uint8Array => readBytes(join('robust', c.file));

/** '' when our decoding agrees with PIL's, else what differs. */
export function checkAgainstPil(c: RobustCase): string {
  let img;
  try {
    img = decodeImage(robustBytes(c));
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) return `not an ImageDecodeError: ${String(e)}`;
    return c.error ? '' : `PIL decodes it, we threw "${e.message}"`;
  }
  if (c.error) return `PIL refuses it (${c.error}), we returned an image`;
  if (img.width !== c.width || img.height !== c.height) return `size ${img.width}x${img.height} != ${c.width}x${c.height}`;
  for (const [x, y, r, g, b] of c.samples!) {
    const o = (y * img.width + x) * 3;
    const got = [img.data[o], img.data[o + 1], img.data[o + 2]];
    if (got[0] !== r || got[1] !== g || got[2] !== b) return `pixel (${x},${y}) is ${got}, PIL has ${[r, g, b]}`;
  }
  const h = sha256(img.data);
  return h === c.sha256 ? '' : `sha256 ${h} != ${c.sha256} (sampled pixels agree)`;
}

const groups: [Group, string][] = [
  ['jpegNoDht', 'JPEGs without Huffman tables (Annex K standard tables), as PIL'],
  ['jpegDamaged', 'damaged JPEGs are recovered exactly as libjpeg-turbo recovers them, or refused where PIL refuses them'],
  ['jpegCmyk', 'CMYK and YCCK JPEGs convert to RGB as PIL does'],
  ['png', 'PNGs with bad CRCs or a missing IEND follow PIL'],
  ['bmp', 'BMP files decode as PIL decodes them, or are refused where PIL refuses them'],
];
for (const [group, title] of groups) {
  describe(title, () => {
    it.each(robust[group].map((c) => [c.file, c] as const))('%s', (_name, c) => {
      expect(checkAgainstPil(c), `${c.note}${c.error ? ` -- PIL: ${c.error}` : ''}`).toBe('');
    });
  });
}
