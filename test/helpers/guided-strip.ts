// What `explain --method guided-gradcam` must print and draw compared with the plain run on the same input:
// the same main and reference classes for the three modes, a strip of the same size whose CAM tiles are no
// longer heat-maps (Guided Grad-CAM images are mostly grey around 128), so a large share of bytes differ.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import * as F from '../../index';

export async function expectGuidedStrip(plain: { out: string }, guided: { code: number; out: string; err: string }, plainPng: string, guidedPng: string): Promise<void> {
  expect(guided.code, guided.err).toBe(0);
  const cats = (s: string) => s.split('\n').filter((l) => / main .* references/.test(l));
  expect(cats(guided.out)).toEqual(cats(plain.out));
  expect(cats(guided.out).length).toBe(3);
  const a = await F.decodePng(readFileSync(plainPng));
  const b = await F.decodePng(readFileSync(guidedPng));
  expect([b.width, b.height]).toEqual([a.width, a.height]);
  let differ = 0;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) differ++;
  expect(differ).toBeGreaterThan(a.data.length / 10);
}
