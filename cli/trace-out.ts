// `explain --trace DIR`: the trace of the explanation (cam/trace.ts) as files — one PNG per step and mode
// (feature maps as a grid of all channels, maps with JET once in [0, 1], signed values blue-white-red),
// and trace.json with every step's formula, shape, numbers and picture, and each mode's target.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as F from '../index';
import { writePng } from './image-io';
import { writeFileAtomic } from './util/atomic-write';
import { channelGrid, enlarge, jetImage, signedImage } from './util/trace-pictures';

const IN_UNIT = new Set<F.TraceStepKey>(['normalised', 'resized', 'cam']);

function picture(s: F.TraceStep): F.RgbImage | null {
  if (s.shape.length === 4) {
    const [, C, h, w] = s.shape;
    return enlarge(channelGrid(s.data, C, h, w), Math.max(1, Math.floor(48 / Math.max(h, w))));
  }
  if (s.shape.length !== 3) return null; // channel weights: numbers only
  const [, h, w] = s.shape;
  const data = s.data.subarray(0, h * w);
  const img = IN_UNIT.has(s.key) ? jetImage(data, w, h) : signedImage(data, w, h);
  return enlarge(img, Math.max(1, Math.floor(96 / Math.max(h, w))));
}

/** Writes the PNGs and trace.json into dir; returns the number of files written. */
export async function writeTrace(dir: string, trace: F.CamTrace, modes: readonly { name: string; alpha: number; referenceCategoryRanks: number[] }[], classNames: string[] | null): Promise<number> {
  await mkdir(dir, { recursive: true });
  const steps = [];
  let n = 0;
  for (const [i, s] of trace.steps.entries()) {
    const mode = s.set === null ? 'shared' : modes[s.set]?.name ?? `set${s.set}`;
    const file = `${String(i + 1).padStart(2, '0')}-${mode}-${s.key}${trace.layers.length > 1 && s.layer !== null ? `-layer${s.layer}` : ''}.png`;
    const img = picture(s);
    if (img) {
      await writePng(join(dir, file), img);
      n++;
    }
    steps.push({ step: i + 1, key: s.key, mode, layer: s.layer === null ? null : trace.layers[s.layer], formula: s.formula, shape: s.shape, picture: img ? file : null, data: Array.from(s.data) });
  }
  const json = {
    method: trace.method,
    layers: trace.layers,
    classNames,
    logits: { shape: trace.logits.shape, data: Array.from(trace.logits.data) },
    modes: modes.map((m, i) => ({ ...m, target: trace.targets[i]?.[0] ?? null })),
    steps,
  };
  await writeFileAtomic(join(dir, 'trace.json'), JSON.stringify(json, null, 1));
  return n + 1;
}
