// The Node side of the browser checks: the same library call the page makes (web/engine.ts: the three
// modes of `finercam explain`, one forward pass, maps at the model's input size), run here on the CPU
// backend, and the comparison rule (TOL.crossBackend).
import { expect } from 'vitest';
import * as F from '../../index';
import { loadDemoModel } from '../../cli/demo/model';
import { TOL } from '../tolerances';

export const MODE_NAMES = ['baseline', 'finer-default', 'finer-compare'] as const;

export interface PageMap {
  width: number;
  height: number;
  data: number[];
}

export interface PageStep {
  key: F.TraceStepKey;
  set: number | null;
  layer: number | null;
  formula: string;
  shape: number[];
  data: number[];
}

export interface PageResult {
  mainCategories: number[];
  references: number[][];
  cams: Record<(typeof MODE_NAMES)[number], PageMap>;
  width: number;
  height: number;
  trace: { method: string; layers: string[]; targets: F.TargetTrace[][]; steps: PageStep[]; logits: { shape: number[]; data: number[] } };
}

let demo: Awaited<ReturnType<typeof loadDemoModel>> | null = null;

export interface RefSettings {
  alpha?: number;
  ranks?: number[];
  maxSize?: number;
  targetIdx?: number;
  baseMethod?: F.CAMClass;
}

export async function nodeReference(img: F.RgbImage, s: RefSettings = {}): Promise<F.FinerModesResult & { width: number; height: number }> {
  demo ??= await loadDemoModel();
  const ranks = s.ranks ?? [1, 2, 3];
  const alpha = s.alpha ?? 1;
  const pre = F.preprocess(img, { maxSize: s.maxSize ?? 224, patchSize: 1, norm: F.NORMALIZATIONS.imagenet });
  const cam = new F.FinerCAM({ model: demo.loaded.model, targetLayers: [demo.loaded.targetLayer], baseMethod: s.baseMethod });
  try {
    const r = await cam.forwardModes({
      inputTensor: pre.tensor, targetSize: [pre.width, pre.height], trace: true, targetIdx: s.targetIdx ?? null,
      modes: [{ alpha: 0, referenceCategoryRanks: ranks }, { alpha, referenceCategoryRanks: ranks }, { alpha, referenceCategoryRanks: [1] }],
    });
    return { ...r, width: pre.width, height: pre.height };
  } finally {
    pre.tensor.dispose();
    cam.dispose();
  }
}

/** The worst |got − want| − (atol + rtol·|want|); ≤ 0 passes. */
export function excess(got: ArrayLike<number>, want: ArrayLike<number>, tol = TOL.crossBackend): number {
  expect(got.length).toBe(want.length);
  let worst = -Infinity;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) - (tol.atol + tol.rtol * Math.abs(want[i])));
  return worst;
}

/** The page's three maps and categories equal the Node result. */
export async function expectSameMaps(page: PageResult, ref: Awaited<ReturnType<typeof nodeReference>>): Promise<void> {
  expect(page.mainCategories).toEqual(ref.mainCategories.map((m) => m[0]));
  expect(page.references).toEqual(ref.references.map((r) => r[0]));
  for (let i = 0; i < 3; i++) {
    const m = page.cams[MODE_NAMES[i]];
    expect([m.height, m.width]).toEqual([ref.height, ref.width]);
    expect(excess(m.data, await ref.cams[i].data()), MODE_NAMES[i]).toBeLessThanOrEqual(0);
  }
}

/** The tiny seeded CLIP of the page test, written as the files a visitor would pick. */
export const TINY_CLIP: F.ClipConfig = {
  embedDim: 8, imageResolution: 32, visionLayers: 1, visionWidth: 16, visionPatchSize: 8, contextLength: 16,
  vocabSize: 49408, transformerWidth: 16, transformerHeads: 2, transformerLayers: 1, visionHeads: 2,
};

export async function tinyClipWeights(seed: number): Promise<Uint8Array> {
  F.manualSeed(seed);
  const m = F.clip(TINY_CLIP);
  const bytes = await F.saveSafetensors(m.stateDict());
  m.dispose();
  return bytes;
}

/**
 * The page's CLIP explanation done directly with the library, from the same files: the weights (heads given,
 * the rest read from the shapes), OpenAI's tokenizer, ZeroShotClassifier, CLIP's centre crop, FinerCAM's
 * three modes at the crop's size.
 */
export async function nodeClipReference(img: F.RgbImage, weights: Uint8Array, bpe: Uint8Array, prompts: string[], s: RefSettings & { template?: string } = {}): Promise<F.FinerModesResult & { width: number; height: number }> {
  const clip = F.clipFromStateDict(await F.loadSafetensors(weights), { visionHeads: 2, transformerHeads: 2 });
  const zs = new F.ZeroShotClassifier(clip, { tokenizer: F.ClipTokenizer.fromBpe(bpe), prompts, templates: s.template ? [s.template] : undefined }).eval();
  const n = clip.imageResolution;
  const cp = F.clipPreprocess(img, { size: n });
  const g = n / TINY_CLIP.visionPatchSize!;
  const cam = new F.FinerCAM({ model: zs, targetLayers: ['clip.visual.transformer.resblocks.-1.ln_1'], reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1 }), baseMethod: s.baseMethod });
  const ranks = s.ranks ?? [1, 2, 3];
  const alpha = s.alpha ?? 1;
  try {
    const r = await cam.forwardModes({
      inputTensor: cp.tensor, H: g, W: g, targetSize: [n, n], targetIdx: s.targetIdx ?? null,
      modes: [{ alpha: 0, referenceCategoryRanks: ranks }, { alpha, referenceCategoryRanks: ranks }, { alpha, referenceCategoryRanks: [1] }],
    });
    return { ...r, width: n, height: n };
  } finally {
    cp.tensor.dispose();
    cam.dispose();
    zs.dispose();
  }
}
