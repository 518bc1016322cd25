// CLIP (ViT and ModifiedResNet image towers, the text tower) against OpenAI's clip/model.py on tiny seeded models
// (test/fixtures/clip, made by test/reference/make_clip_model_fixtures.py), on the CPU backend.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { CLIP_DIR, caseConfig, loadSt, runClipCase } from './clip-cases';

describe('CLIP against OpenAI clip/model.py (CPU)', () => {
  test('ViT CLIP: image/text features, logits both ways, the last block\'s ln_1, input gradient', () =>
    runClipCase('vit_tiny', 'cpu', TOL.model, TOL.modelGrad));
  test('ModifiedResNet CLIP: attention pool, avg-pool Bottlenecks, layer4 activation, input gradient', () =>
    runClipCase('rn_tiny', 'cpu', TOL.model, TOL.modelGrad));
  test('Hugging Face CLIPModel names (split q/k/v, transposed projections, position_ids) load through the mapping', () =>
    runClipCase('vit_tiny', 'cpu', TOL.model, TOL.modelGrad, 'hf_weights.safetensors'));

  test('clipFromStateDict infers the config as build_model and matches OpenAI\'s features', async () => {
    for (const name of ['vit_tiny', 'rn_tiny']) {
      const { config } = caseConfig(name);
      const sd = await loadSt(join(CLIP_DIR, name, 'weights.safetensors'));
      const heads = name === 'vit_tiny' ? { visionHeads: 4, transformerHeads: 4 } : { transformerHeads: 4 };
      const model = F.clipFromStateDict(sd, heads);
      expect(model.training).toBe(false);
      expect({ ...model.config }).toEqual(config);
      const inp = await loadSt(join(CLIP_DIR, name, 'input.safetensors'));
      const exp = await loadSt(join(CLIP_DIR, name, 'expected.safetensors'));
      const { expectClose } = await import('../helpers/compare');
      expectClose(await model.logits(inp.images, inp.ids).logitsPerImage.data(), await exp.logits_per_image.data(), TOL.model, `${name} logits`);
    }
    const hf = F.clipFromStateDict(await loadSt(join(CLIP_DIR, 'vit_tiny', 'hf_weights.safetensors')), { visionHeads: 4, transformerHeads: 4 });
    expect(hf.config.visionLayers).toBe(2);
  });

  test('presets and build_model inference agree with OpenAI\'s released shapes', () => {
    const presets = JSON.parse(readFileSync(join(CLIP_DIR, 'presets.json'), 'utf8')) as Record<string, { shapes: Record<string, number[]>; build_model_args: unknown[] }>;
    const order = ['embedDim', 'imageResolution', 'visionLayers', 'visionWidth', 'visionPatchSize', 'contextLength', 'vocabSize', 'transformerWidth', 'transformerHeads', 'transformerLayers'] as const;
    expect(Object.keys(presets).sort()).toEqual(Object.keys(F.CLIP_PRESETS).sort());
    for (const [name, p] of Object.entries(presets)) {
      const dict = Object.fromEntries(Object.entries(p.shapes).map(([k, shape]) => [k, { shape }]));
      const inferred = F.inferClipConfig(dict);
      const preset = F.CLIP_PRESETS[name as F.ClipPresetName];
      for (const [i, k] of order.entries()) {
        expect(inferred[k], `${name} ${k}`).toEqual(p.build_model_args[i]);
        expect(preset[k], `${name} ${k}`).toEqual(p.build_model_args[i]);
      }
    }
  });

  test('module names are OpenAI\'s and the tiny models hold exactly OpenAI\'s keys and shapes', async () => {
    for (const name of ['vit_tiny', 'rn_tiny']) {
      const sd = await loadSt(join(CLIP_DIR, name, 'weights.safetensors'));
      const ours = F.clip(caseConfig(name).config).stateDict();
      const shapes = (d: Record<string, F.Tensor>) => Object.fromEntries(Object.keys(d).filter((k) => !k.endsWith('num_batches_tracked')).sort().map((k) => [k, [...d[k].shape]]));
      expect(shapes(ours)).toEqual(shapes(sd));
    }
  });

  test('bad input: configs, images, ids, weights of another size', async () => {
    const { config } = caseConfig('vit_tiny');
    expect(() => F.clip({ ...config, visionHeads: undefined })).toThrow(/head count dividing its width 32; got 0 .*pass config.visionHeads/);
    expect(() => F.clip({ ...config, embedDim: 0 })).toThrow(/config.embedDim must be a positive integer/);
    expect(() => F.clip({ ...config, visionLayers: [1, 2] })).toThrow(/visionLayers must be a depth or four/);
    expect(() => F.clip({ ...config, visionPatchSize: null })).toThrow(/visionPatchSize must be a positive integer/);
    const m = F.clip(config).eval();
    expect(() => m.encodeImage(F.zeros([1, 3, 16, 16]))).toThrow(/expected images \[N, 3, 32, 32\]/);
    expect(() => m.encodeText(F.zeros([1, 12]))).toThrow(/ids must be int32 token ids \[N, 12\]/);
    expect(() => m.encodeText(F.zeros([1, 77], { dtype: 'int32' }))).toThrow(/\[N, 12\]/);
    const other = await loadSt(join(CLIP_DIR, 'rn_tiny', 'weights.safetensors'));
    expect(() => m.loadStateDict(other)).toThrow(/does not fit/);
    expect(() => F.clipFromStateDict({})).toThrow(/no 'text_projection'|no 'visual/);
  });
});
