// The tiny CLIP cases of clip.test.ts on the WebGPU backend, against the same numbers of OpenAI's code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import * as F from '../../index';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
import { CLIP_DIR, loadSt, runClipCase } from './clip-cases';

useGpuTeardown();
if (gpu) registerBackend(gpu);

describeGpu('CLIP against OpenAI clip/model.py (WebGPU)', () => {
  test('ViT CLIP: features, logits, ln_1 activation, input gradient', () => runClipCase('vit_tiny', 'webgpu', TOL.model, TOL.modelGrad));
  test('ModifiedResNet CLIP: features, logits, layer4 activation, input gradient', () => runClipCase('rn_tiny', 'webgpu', TOL.model, TOL.modelGrad));
  test('Hugging Face CLIPModel names load through the mapping and match OpenAI\'s numbers', () =>
    runClipCase('vit_tiny', 'webgpu', TOL.model, TOL.modelGrad, 'hf_weights.safetensors'));
  test('clipPreprocess onto the WebGPU device equals torchvision _transform', async () => {
    const dir = join(CLIP_DIR, 'preprocess');
    const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { image: string; size: number }[];
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const img = F.decodeImage(new Uint8Array(readFileSync(join(dir, c.image))));
      const exp = await loadSt(join(dir, c.image.replace('.png', '.expected.safetensors')));
      const { tensor } = F.clipPreprocess(img, { size: c.size, device: 'webgpu' });
      expect(tensor.device).toBe('webgpu');
      expectClose(await tensor.data(), await exp.tensor.data(), TOL.clipPreprocess, `${c.image} pixels`);
    }
  });
});
