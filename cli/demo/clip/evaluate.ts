// The multi-modal demo's evaluation: Finer-CAM explaining the tiny CLIP's attribute prompts against each other.
// For each test image (the 12 demo classes, a seed never trained on) and each of its six parts, the main class is the
// prompt of the part's true state ("a bird with an orange beak") and the other 11 attribute prompts — the other state
// of the same part and both states of the other parts — are the competing classes. For Baseline (Grad-CAM of the
// prompt), Finer-Default (vs the 3 most similar prompts) and Finer-Compare (vs the most similar one), the library's
// measures say how much of the map lies on the named part:
//  - part share: Σ cam·mask / Σ cam with the CAM bilinearly resized to the image (measures.ts; an all-zero map
//    counts as 0); a uniform map scores the part's area, printed as the chance level;
//  - pointing game: the map's maximum within half a token cell (4 px) of the part;
//  - RD@5% (F.relativeConfidenceDrop, the paper's Eq. 10): mask the top 5% of the map with CLIP's mean colour and
//    take (p_main − p*_main) − (p_ref − p*_ref), ref = the most similar prompt (Finer-Compare's reference), the
//    same for every mode.
// Differences from the Baseline are paired per explanation and given with ± 2 standard errors.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as F from '../../../index';
import type { RgbImage } from '../../../image/canvas';
import { MODES } from '../../modes';
import { writeFileAtomic } from '../../util/atomic-write';
import { Progress } from '../../progress';
import { BIRD_CLASSES, renderBirdTraits, sampleSeed } from '../birds';
import { BIRD_PARTS, type BirdPart } from '../birdClasses';
import { imagesToTensor } from '../model';
import { mean, pairedDiff } from '../measures';
import { ScoreLog, scoreMaps } from '../score-maps';
import { ATTRIBUTE_PROMPTS, promptIndex } from './captions';
import { camReshape, type LoadedClipDemo } from './model';
import { drawClipStrips } from './strips';
import { attributeClassifier, CLIP_TEST_SEED } from './zero-shot';

export interface ClipEvalOptions {
  /** Test images (each explained for its six parts). */
  evalSize: number;
  /** Strips to draw (one image each, its class's distinguishing part). */
  count: number;
  outDir: string | null;
  device?: F.DeviceName;
  progress?: boolean;
  /** Images per CAM batch (each gives six rows). */
  batchImages?: number;
  /** The CAM layer (default: the one chosen on validation images at training, clip-tiny.json's targetLayer). */
  targetLayer?: string;
  /** The images' seed (default: the test seed; the layer choice uses the validation seed). */
  seed?: number;
}

export interface Diff {
  mean: number;
  se: number;
}

export interface ClipModeRow {
  mode: string;
  label: string;
  partShare: number;
  peakInPart: number;
  rd: number;
  emptyMaps: number;
  partShareByPart: Record<string, number>;
  shareVsBaseline: Diff;
  peakVsBaseline: Diff;
  rdVsBaseline: Diff;
}

export interface ClipEvalResult {
  images: number;
  explanations: number;
  testSeed: number;
  targetLayer: string;
  /** Zero-shot accuracy on the test images: true state's prompt above the other state's, per part and overall. */
  zeroShot: { byPart: Record<string, number>; mean: number };
  /** Share of explanations whose most similar prompt (Finer-Compare's reference) is the same part's other state. */
  referenceIsOtherState: number;
  /** Mean part area (a uniform map's part share), overall and per part. */
  partArea: number;
  partAreaByPart: Record<string, number>;
  pointTolerance: number;
  percent: number;
  rows: ClipModeRow[];
  strips: string[];
  seconds: number;
}

interface TestImage {
  classId: number;
  image: RgbImage;
  masks: Readonly<Record<BirdPart, Uint8Array>>;
}

/** Test image i: class i mod 12, sample ⌊i / 12⌋ (makeDataset's interleaved order and seeds), with every part's mask. */
export function clipTestImage(i: number, size: number, seed = CLIP_TEST_SEED): TestImage {
  const classId = i % BIRD_CLASSES.length;
  const index = Math.floor(i / BIRD_CLASSES.length);
  const r = renderBirdTraits(BIRD_CLASSES[classId].traits, sampleSeed(seed, classId, index), { size, allMasks: true });
  return { classId, image: r.image, masks: r.partMasks! };
}

/**
 * The rows of the table: generate's three modes, whose references are the prompts most similar by logit, and
 * Finer-Pair, the paper's multi-modal setting ("a red crown" against "a brown crown"): alpha 1 against the named
 * part's other state, given explicitly (F.FinerWeightedTarget, the official Finer target with a chosen reference).
 */
export const CLIP_ROWS: readonly { name: string; label: string }[] = [...MODES.map((m) => ({ name: m.name, label: m.label })), { name: 'finer-pair', label: 'Finer-Pair' }];

export function modeSpecs(): F.FinerMode[] {
  return MODES.map((m) => ({ alpha: m.alpha, referenceCategoryRanks: m.referenceCategoryRanks }));
}

export async function evaluateClipDemo(m: LoadedClipDemo, opts: ClipEvalOptions): Promise<ClipEvalResult> {
  const t0 = Date.now();
  const { evalSize, count } = opts;
  if (!Number.isInteger(evalSize) || evalSize < 1) throw new RangeError(`demo --clip: --eval-size must be a positive integer, got ${evalSize}`);
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`demo --clip: --count must be a non-negative integer, got ${count}`);
  const percent = 5;
  const size = m.clip.imageResolution;
  const K = ATTRIBUTE_PROMPTS.length;
  const P = BIRD_PARTS.length;
  const zs = attributeClassifier(m.clip, m.tokenizer);
  if (opts.device) await zs.to(opts.device);
  const layer = opts.targetLayer ?? m.meta.targetLayer;
  const seed = opts.seed ?? CLIP_TEST_SEED;
  const cam = new F.FinerCAM({ model: zs, targetLayers: [layer], reshapeTransform: camReshape(m.clip), baseMethod: F.GradCAM });
  const modes = modeSpecs();
  const compareIdx = MODES.findIndex((x) => x.name === 'finer-compare');
  const per = CLIP_ROWS.map(() => new ScoreLog());
  const partOf: BirdPart[] = [];
  const area: number[] = [];
  let otherState = 0;
  const zsHits = BIRD_PARTS.map(() => 0);
  const B = opts.batchImages ?? 8;
  const bar = opts.progress ? new Progress(evalSize, 'demo --clip: explaining test images') : null;
  try {
    for (let s = 0; s < evalSize; s += B) {
      const imgs = Array.from({ length: Math.min(B, evalSize - s) }, (_, j) => clipTestImage(s + j, size, seed));
      // six rows per image: one explanation per part, its true state's prompt as the target
      const rows = imgs.flatMap((t) => BIRD_PARTS.map((part) => {
        const set = BIRD_CLASSES[t.classId].traits[part];
        return { t, part, target: promptIndex(part, set), other: promptIndex(part, !set) };
      }));
      const x = imagesToTensor(rows.map((r) => r.t.image), F.NORMALIZATIONS.clip, opts.device);
      const res = await cam.forwardModes({ inputTensor: x, targetIdx: rows.map((r) => r.target), modes });
      const pair = await cam.forwardModes({ inputTensor: x, targets: rows.map((r) => new F.FinerWeightedTarget(r.target, [r.other], 1)), modes: [{ alpha: 1 }] });
      const cams = [...res.cams, ...pair.cams];
      try {
        const z = await res.outputs.data();
        rows.forEach((r, j) => {
          const pi = BIRD_PARTS.indexOf(r.part);
          if (z[j * K + r.target] > z[j * K + r.other]) zsHits[pi]++;
          if (res.references[compareIdx][j][0] === r.other) otherState++;
          partOf.push(r.part);
          const mk = r.t.masks[r.part];
          area.push(mk.reduce((a, b) => a + b, 0) / mk.length);
        });
        const refs = res.references[compareIdx].map((rs) => rs.slice(0, 1));
        const masks = rows.map((r) => r.t.masks[r.part]);
        const main = rows.map((r) => r.target);
        for (let mi = 0; mi < cams.length; mi++) {
          per[mi].add(await scoreMaps(cams[mi], { model: zs, x, size, masks, main, refs, percent, device: opts.device }));
        }
      } finally {
        cams.forEach((c) => c.dispose());
        res.outputs.dispose();
        pair.outputs.dispose();
        x.dispose();
      }
      bar?.tick(true, '', imgs.length);
    }
    const n = partOf.length;
    const byPart = (xs: readonly number[]) => Object.fromEntries(BIRD_PARTS.map((p) => [p, mean(xs.filter((_, i) => partOf[i] === p))]));
    const rows: ClipModeRow[] = CLIP_ROWS.map((spec, mi) => ({
      mode: spec.name,
      label: spec.label,
      partShare: mean(per[mi].partShare),
      peakInPart: mean(per[mi].pointing),
      rd: mean(per[mi].rd),
      emptyMaps: per[mi].empty,
      partShareByPart: byPart(per[mi].partShare),
      shareVsBaseline: pairedDiff(per[mi].partShare, per[0].partShare),
      peakVsBaseline: pairedDiff(per[mi].pointing, per[0].pointing),
      rdVsBaseline: pairedDiff(per[mi].rd, per[0].rd),
    }));
    const strips = opts.outDir && count > 0 ? await drawClipStrips(m, cam, count, opts.outDir, seed, opts.device) : [];
    const zsByPart = Object.fromEntries(BIRD_PARTS.map((p, i) => [p, zsHits[i] / evalSize]));
    const result: ClipEvalResult = {
      images: evalSize,
      explanations: n,
      testSeed: seed,
      targetLayer: layer,
      zeroShot: { byPart: zsByPart, mean: zsHits.reduce((a, b) => a + b, 0) / (evalSize * P) },
      referenceIsOtherState: otherState / n,
      partArea: mean(area),
      partAreaByPart: byPart(area),
      pointTolerance: per[0].tolerance,
      percent,
      rows,
      strips,
      seconds: (Date.now() - t0) / 1000,
    };
    if (opts.outDir) {
      await mkdir(opts.outDir, { recursive: true });
      await writeFileAtomic(join(opts.outDir, 'results.json'), `${JSON.stringify({ ...result, weights: m.paths.weights, tokenizer: m.paths.tokenizer }, null, 2)}\n`);
    }
    return result;
  } finally {
    cam.dispose();
  }
}
