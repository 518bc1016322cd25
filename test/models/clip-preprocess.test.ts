// clipPreprocess against OpenAI's clip._transform (torchvision Resize(BICUBIC) on PIL, CenterCrop, ToTensor, Normalize)
// on the same decoded pixels (PNG fixtures written by PIL; test/reference/make_clip_model_fixtures.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

const DIR = join(__dirname, '..', 'fixtures', 'clip', 'preprocess');
const cases = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { image: string; size: number }[];

describe('clipPreprocess against torchvision _transform', () => {
  for (const c of cases) {
    test(`${c.image} → ${c.size}×${c.size}`, async () => {
      const img = F.decodeImage(new Uint8Array(readFileSync(join(DIR, c.image))));
      const exp = await F.loadSafetensors(new Uint8Array(readFileSync(join(DIR, c.image.replace('.png', '.expected.safetensors')))));
      const { tensor } = F.clipPreprocess(img, { size: c.size });
      expect(tensor.shape).toEqual([1, ...exp.tensor.shape]);
      expectClose(await tensor.data(), await exp.tensor.data(), TOL.clipPreprocess, 'pixels');
    });
  }
  test('bad input', () => {
    const img = { width: 2, height: 2, data: new Uint8Array(12) };
    expect(() => F.clipPreprocess(img, { size: 0 })).toThrow(/size must be a positive integer/);
    expect(() => F.clipPreprocess({ width: 2, height: 2, data: new Uint8Array(3) }, { size: 4 })).toThrow(/image must be/);
  });
});
