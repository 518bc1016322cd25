// The zero-shot case of test/fixtures/clip/zeroshot (OpenAI's tokenizer and model, the reference Finer-CAM; see
// test/reference/make_clip_zeroshot_fixtures.py), run on a given device.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import * as F from '../../index';
import type { Tol } from '../tolerances';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { CLIP_DIR, loadSt } from './clip-cases';

const DIR = join(CLIP_DIR, 'zeroshot');
export const zsCase = JSON.parse(readFileSync(join(DIR, 'case.json'), 'utf8'));
export const tokenizer = F.ClipTokenizer.fromBpe(new Uint8Array(readFileSync(join(CLIP_DIR, 'bpe_simple_vocab_16e6.txt.gz'))));

export function zsConfig(): F.ClipConfig {
  const k = zsCase.config;
  return {
    embedDim: k.embed_dim, imageResolution: k.image_resolution, visionLayers: k.vision_layers, visionWidth: k.vision_width,
    visionPatchSize: k.vision_patch_size, contextLength: k.context_length, vocabSize: k.vocab_size, transformerWidth: k.transformer_width,
    transformerHeads: k.transformer_heads, transformerLayers: k.transformer_layers, visionHeads: k.vision_heads,
  };
}

/** The tiny CLIP with the stored weights and the fixture's formula token embedding (see the fixture script). */
export async function zsModel(): Promise<F.CLIP> {
  const cfg = zsConfig();
  const sd = await loadSt(join(DIR, 'weights.safetensors'));
  const n = cfg.vocabSize * cfg.transformerWidth;
  const w = new Float32Array(n);
  for (let k = 0; k < n; k++) w[k] = Math.sin(0.0137 * k + 0.4) * 0.5;
  sd['token_embedding.weight'] = F.tensor(w, [cfg.vocabSize, cfg.transformerWidth]);
  const model = F.clip(cfg).eval();
  model.loadStateDict(sd);
  return model;
}

export async function runZeroShotCase(device: 'cpu' | 'webgpu' | 'wasm', camTol: Tol): Promise<void> {
  const model = await zsModel();
  await model.to(device);
  const exp = await loadSt(join(DIR, 'expected.safetensors'));
  const zs = new F.ZeroShotClassifier(model, { tokenizer, prompts: zsCase.classes, templates: zsCase.templates }).eval();
  expect(zs.numClasses).toBe(zsCase.classes.length);
  expect(zs.textFeatures.device).toBe(device);
  expectClose(await zs.textFeatures.data(), await exp.class_text_features.data(), TOL.model, 'class text features (templates averaged)');
  const plain = F.zeroShotTextFeatures(model, { tokenizer, prompts: zsCase.prompts });
  expectClose(await plain.data(), await exp.prompt_text_features.data(), TOL.model, 'prompt text features');
  const x = await (await loadSt(join(DIR, 'input.safetensors'))).images.toDevice(device);
  expectClose(await zs.forward(x).data(), await exp.logits.data(), TOL.model, 'logits');

  const cam = new F.FinerCAM({ model: zs, targetLayers: ['clip.visual.transformer.resblocks.-1.ln_1'], reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1 }) });
  const keys = ['baseline', 'default', 'compare'] as const;
  const modes = keys.map((k) => ({ alpha: zsCase.modes[k].alpha, referenceCategoryRanks: zsCase.modes[k].reference_category_ranks }));
  const [H, W] = zsCase.grid;
  for (const [targetSize, prefix] of [[zsCase.target_size, 'cam_'], [undefined, 'cam_grid_']] as const) {
    const r = await cam.forwardModes({ inputTensor: x, H, W, targetSize, modes });
    for (const [i, k] of keys.entries()) {
      expect(r.mainCategories[i], `${k} main`).toEqual(zsCase.modes[k].main_categories);
      expect(r.references[i], `${k} references`).toEqual(zsCase.modes[k].references);
      expect(r.cams[i].device).toBe(device);
      expectClose(await r.cams[i].data(), await exp[prefix + k].data(), camTol, prefix + k);
    }
  }
}
