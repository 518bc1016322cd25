// The CLIP cases (OpenAI's model and tokenizer, the reference Finer-CAM) on the wasm backend: features and gradients
// with TOL.model / TOL.modelGrad as on the CPU, CAM maps with TOL.camWasm.
import { describe, test } from 'vitest';
import { TOL } from '../tolerances';
import { registerBackend } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/backend';
import { runClipCase, runPreprocessCases } from './clip-cases';
import { runZeroShotCase } from './clip-zeroshot-case';

registerBackend(new WasmBackend());

describe('CLIP against OpenAI clip/model.py (wasm)', () => {
  test('ViT CLIP: features, logits, ln_1 activation, input gradient', () => runClipCase('vit_tiny', 'wasm', TOL.model, TOL.modelGrad));
  test('ModifiedResNet CLIP: features, logits, layer4 activation, input gradient', () => runClipCase('rn_tiny', 'wasm', TOL.model, TOL.modelGrad));
  test('zero-shot text features, logits, three Finer-CAM modes', () => runZeroShotCase('wasm', TOL.camWasm));
  test('Hugging Face CLIPModel names load through the mapping and match OpenAI\'s numbers', () =>
    runClipCase('vit_tiny', 'wasm', TOL.model, TOL.modelGrad, 'hf_weights.safetensors'));
  test('clipPreprocess onto the wasm device equals torchvision _transform', () => runPreprocessCases('wasm', TOL.clipPreprocess));
});
