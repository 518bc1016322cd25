// Images of the look-alike demo's 12 classes (cli/demo/lookalikeClasses.ts), drawn by the broad task's
// renderer (cli/demo/broad.ts: the species' colours, its 8 backgrounds) with the mask of the part that
// tells a class from its look-alike. A class and its look-alike rendered with the same seed differ only
// inside that mask (the renderer's pose, background, lighting and noise never depend on the colours).
import { renderBirdTraits, type BirdRender } from './birds';
import { NO_TRAITS, speciesStyle } from './broad';
import { LOOKALIKE_CLASSES, LOOKALIKE_CLASS_NAMES, type LookalikeClass } from './lookalikeClasses';
import { checkSeed, hashInts } from './rng';
import type { RgbImage } from '../../image/canvas';

function lookalikeClass(classId: number): LookalikeClass {
  const c = LOOKALIKE_CLASSES[classId];
  if (!Number.isInteger(classId) || c === undefined) {
    throw new RangeError(`renderLookalike: classId must be an integer in [0, ${LOOKALIKE_CLASSES.length}), got ${classId}`);
  }
  return c;
}

/** One image of class `classId` (deterministic in `seed`) and the mask of its distinguishing part. */
export function renderLookalike(classId: number, seed: number, options: { size?: number } = {}): BirdRender {
  const c = lookalikeClass(classId);
  return renderBirdTraits(NO_TRAITS, seed, { size: options.size, maskPart: c.part, style: speciesStyle(c.species) });
}

/** The render seed of sample `index` of class `classId` in data set `seed`. */
export function lookalikeSampleSeed(seed: number, classId: number, index: number): number {
  return hashInts(checkSeed(seed), classId, index, 0x100c);
}

export interface LookalikeDataset {
  readonly images: RgbImage[];
  readonly labels: number[];
  readonly masks: Uint8Array[];
  readonly seeds: number[];
  readonly classNames: readonly string[];
}

/** `perClass` images of each class, interleaved by sample index, so every prefix is nearly balanced. */
export function makeLookalikeDataset(options: { perClass: number; seed: number; size: number }): LookalikeDataset {
  const { perClass, seed, size } = options;
  if (!Number.isInteger(perClass) || perClass < 0) throw new RangeError(`makeLookalikeDataset: perClass must be a non-negative integer, got ${perClass}`);
  const out: LookalikeDataset = { images: [], labels: [], masks: [], seeds: [], classNames: LOOKALIKE_CLASS_NAMES };
  for (let i = 0; i < perClass; i++) {
    for (const c of LOOKALIKE_CLASSES) {
      const s = lookalikeSampleSeed(seed, c.id, i);
      const r = renderLookalike(c.id, s, { size });
      out.images.push(r.image);
      out.masks.push(r.partMask);
      out.labels.push(c.id);
      out.seeds.push(s);
    }
  }
  return out;
}
