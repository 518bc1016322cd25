// The CAM layer of the multi-modal demo, chosen after training on validation images (VALIDATION_SEED, never the
// test images): the candidate (model.ts candidateLayers) whose Baseline map puts the largest share of its mass on
// the named part. The criterion uses the Baseline only, so it favours none of the modes the demo compares.
import type * as F from '../../../index';
import { evaluateClipDemo } from './evaluate';
import { candidateLayers, clipDemoPaths, type ClipDemoMeta } from './model';
import { VALIDATION_SEED } from './zero-shot';

export async function chooseLayerOnValidation(
  clip: F.CLIP,
  tokenizer: F.ClipTokenizer,
  meta: Omit<ClipDemoMeta, 'targetLayer' | 'layerChoice'>,
  images: number,
): Promise<{ targetLayer: string; layerChoice: Record<string, number> }> {
  const layerChoice: Record<string, number> = {};
  let best = '';
  for (const layer of candidateLayers(clip)) {
    const m = { clip, tokenizer, meta: { ...meta, targetLayer: layer, layerChoice: {} }, paths: clipDemoPaths() };
    const r = await evaluateClipDemo(m, { evalSize: images, count: 0, outDir: null, targetLayer: layer, seed: VALIDATION_SEED });
    layerChoice[layer] = r.rows[0].partShare;
    if (best === '' || layerChoice[layer] > layerChoice[best]) best = layer;
  }
  return { targetLayer: best, layerChoice };
}
