// ZeroShotClassifier (classes from text prompts through the real tokenizer) and Finer-CAM over prompts, against
// OpenAI's code and the reference Finer-CAM (test/fixtures/clip/zeroshot), on the CPU and on WebGPU.
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
import { runZeroShotCase, tokenizer, zsModel } from './clip-zeroshot-case';

useGpuTeardown();
if (gpu) registerBackend(gpu);

describe('zero-shot CLIP and Finer-CAM over prompts (CPU)', () => {
  test('text features (templates averaged), logits, three Finer-CAM modes: main/references exact, maps', () => runZeroShotCase('cpu', TOL.cam));

  test('bad input: clear errors', async () => {
    const model = await zsModel();
    expect(() => new F.ZeroShotClassifier(model, { tokenizer, prompts: [] })).toThrow(/prompts must be a non-empty array/);
    expect(() => new F.ZeroShotClassifier(model, { tokenizer, prompts: ['a', ''] })).toThrow(/prompts\[1\] must be a non-empty string/);
    expect(() => new F.ZeroShotClassifier(model, { tokenizer, prompts: ['a'], templates: ['a photo'] })).toThrow(/templates\[0\] must be a string containing '\{\}'/);
    expect(() => new F.ZeroShotClassifier(model, { tokenizer, prompts: ['word '.repeat(100)] })).toThrow(/prompts|texts\[0\].*longer than contextLength 77/);
    expect(() => new F.ZeroShotClassifier(model, F.zeros([3, 8]))).toThrow(/textFeatures must be \(classes ≥ 1, 16\)/);
    expect(() => new F.ZeroShotClassifier({} as F.CLIP, F.zeros([3, 16]))).toThrow(/model must be a CLIP/);
    expect(() => new F.ZeroShotClassifier(model, { tokenizer: {} as F.ClipTokenizer, prompts: ['a'] })).toThrow(/tokenizer must be a ClipTokenizer/);
  });

  test('text features given as a tensor are normalised and used as classes', async () => {
    const model = await zsModel();
    const feats = F.tensor([[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]], [1, 16]);
    const zs = new F.ZeroShotClassifier(model, feats);
    const t = await zs.textFeatures.data();
    expect([t[0], t[15]].map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.6, 0.8]);
    expect(Object.keys(zs.stateDict())).toContain('clip.visual.transformer.resblocks.1.ln_1.weight');
  });
});

describeGpu('zero-shot CLIP and Finer-CAM over prompts (WebGPU)', () => {
  test('text features, logits, three Finer-CAM modes', () => runZeroShotCase('webgpu', TOL.camWebgpu));
});
