// The tiny CLIP cases of clip.test.ts on the WebGPU backend, against the same numbers of OpenAI's code.
import { test } from 'vitest';
import { TOL } from '../tolerances';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
import { runClipCase, runPreprocessCases } from './clip-cases';

useGpuTeardown();
if (gpu) registerBackend(gpu);

describeGpu('CLIP against OpenAI clip/model.py (WebGPU)', () => {
  test('ViT CLIP: features, logits, ln_1 activation, input gradient', () => runClipCase('vit_tiny', 'webgpu', TOL.model, TOL.modelGrad));
  test('ModifiedResNet CLIP: features, logits, layer4 activation, input gradient', () => runClipCase('rn_tiny', 'webgpu', TOL.model, TOL.modelGrad));
  test('Hugging Face CLIPModel names load through the mapping and match OpenAI\'s numbers', () =>
    runClipCase('vit_tiny', 'webgpu', TOL.model, TOL.modelGrad, 'hf_weights.safetensors'));
  test('clipPreprocess onto the WebGPU device equals torchvision _transform', () => runPreprocessCases('webgpu', TOL.clipPreprocess));
});
