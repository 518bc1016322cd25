// How every demo evaluation scores one batch of maps (the ResNet demo, evaluate.ts; the look-alike demo,
// evaluate-lookalike.ts; the CLIP demo, clip/evaluate.ts), written once: each map is resized bilinearly
// to the image, then scored by its share of mass on the part, the pointing game (its maximum within half a
// grid cell of the part: an upsampled grid map peaks at cell centres) and the paper's RD (F.relative-
// ConfidenceDrop: the map's top `percent` pixels set to 0 in the normalised input, the mean colour).
import * as F from '../../index';
import { resizeCam } from '../image-io';
import { partShare, peakNearPart } from './measures';

export interface MapScores {
  /** Per image: Σ cam·mask / Σ cam on the image-sized map. */
  partShare: number[];
  /** Per image: 1 if the map's maximum is within `tolerance` px of the part, else 0. */
  pointing: number[];
  /** Per image: the relative confidence drop and its two halves. */
  rd: number[];
  mainDrop: number[];
  refDrop: number[];
  /** Maps that are zero everywhere (nothing to point at). */
  empty: number;
  /** Pixels masked per image for RD. */
  maskedPixels: number;
  /** The pointing tolerance: half a cell of the map's grid, in image pixels. */
  tolerance: number;
}

export interface ScoreMapsOptions {
  /** The explained model and its (normalised) input batch, [B, 3, size, size]. */
  model: F.ModelLike;
  x: F.Tensor;
  size: number;
  /** Per image, `size * size`, 1 on the part. */
  masks: readonly Uint8Array[];
  /** Per image, the explained class and the reference class(es) for RD. */
  main: readonly number[];
  refs: readonly (readonly number[])[];
  percent: number;
  device?: F.DeviceName;
}

/** Scores `cams` ([B, h, w], one map per image of `x`). */
export async function scoreMaps(cams: F.Tensor, o: ScoreMapsOptions): Promise<MapScores> {
  const [B, h, w] = cams.shape;
  const { size, masks } = o;
  if (cams.shape.length !== 3 || B !== masks.length || B !== o.main.length || B !== o.refs.length) {
    throw new RangeError(`scoreMaps: cams [B, h, w] must have one map per mask, class and reference list, got shape [${cams.shape.join(', ')}] for ${masks.length} masks`);
  }
  const tolerance = Math.round(size / w / 2);
  const grid = await cams.data();
  const hi = new Float32Array(B * size * size);
  const out: MapScores = { partShare: [], pointing: [], rd: [], mainDrop: [], refDrop: [], empty: 0, maskedPixels: 0, tolerance };
  for (let j = 0; j < B; j++) {
    const img = resizeCam(Float32Array.from(grid.subarray(j * h * w, (j + 1) * h * w)), h, w, size, size);
    hi.set(img, j * size * size);
    out.partShare.push(partShare(img, masks[j]));
    out.pointing.push(peakNearPart(img, masks[j], size, tolerance) ? 1 : 0);
    if (!img.some((v) => v > 0)) out.empty++;
  }
  const big = F.tensor(hi, [B, size, size], { device: o.device });
  try {
    const d = await F.relativeConfidenceDrop(o.model, o.x, big, { mainCategories: [...o.main], referenceCategories: o.refs.map((r) => [...r]), percent: o.percent, fill: 'zero' });
    out.rd.push(...d.rd);
    out.mainDrop.push(...d.mainDrop);
    out.refDrop.push(...d.referenceDrop);
    out.maskedPixels = d.maskedPixels;
  } finally {
    big.dispose();
  }
  return out;
}

/** One mode's scores over a whole evaluation, image after image, batch after batch. */
export class ScoreLog {
  readonly partShare: number[] = [];
  readonly pointing: number[] = [];
  readonly rd: number[] = [];
  readonly mainDrop: number[] = [];
  readonly refDrop: number[] = [];
  empty = 0;
  maskedPixels = 0;
  tolerance = 0;

  add(sc: MapScores): void {
    this.partShare.push(...sc.partShare);
    this.pointing.push(...sc.pointing);
    this.rd.push(...sc.rd);
    this.mainDrop.push(...sc.mainDrop);
    this.refDrop.push(...sc.refDrop);
    this.empty += sc.empty;
    this.maskedPixels = sc.maskedPixels;
    this.tolerance = sc.tolerance;
  }
}
