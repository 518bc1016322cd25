// The CLIP cases (OpenAI's model and tokenizer, the reference Finer-CAM) on the wasm backend: features and gradients
// with TOL.model / TOL.modelGrad as on the CPU, CAM maps with TOL.camWasm.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';
import { registerBackend } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/backend';
import { CLIP_DIR, loadSt, runClipCase } from './clip-cases';
import { runZeroShotCase } from './clip-zeroshot-case';

registerBackend(new WasmBackend());

describe('CLIP against OpenAI clip/model.py (wasm)', () => {
  test('ViT CLIP: features, logits, ln_1 activation, input gradient', () => runClipCase('vit_tiny', 'wasm', TOL.model, TOL.modelGrad));
  test('ModifiedResNet CLIP: features, logits, layer4 activation, input gradient', () => runClipCase('rn_tiny', 'wasm', TOL.model, TOL.modelGrad));
  test('zero-shot text features, logits, three Finer-CAM modes', () => runZeroShotCase('wasm', TOL.camWasm));
  test('Hugging Face CLIPModel names load through the mapping and match OpenAI\'s numbers', () =>
    runClipCase('vit_tiny', 'wasm', TOL.model, TOL.modelGrad, 'hf_weights.safetensors'));
  test('clipPreprocess onto the wasm device equals torchvision _transform', async () => {
    const dir = join(CLIP_DIR, 'preprocess');
    const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { image: string; size: number }[];
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const img = F.decodeImage(new Uint8Array(readFileSync(join(dir, c.image))));
      const exp = await loadSt(join(dir, c.image.replace('.png', '.expected.safetensors')));
      const { tensor } = F.clipPreprocess(img, { size: c.size, device: 'wasm' });
      expect(tensor.device).toBe('wasm');
      expectClose(await tensor.data(), await exp.tensor.data(), TOL.clipPreprocess, `${c.image} pixels`);
    }
  });
});
