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
