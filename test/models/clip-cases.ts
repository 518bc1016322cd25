// The tiny seeded CLIP cases of test/fixtures/clip (made by OpenAI's clip/model.py, see
// test/reference/make_clip_model_fixtures.py), run on a given device: shared by the CPU, WebGPU and wasm tests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import * as F from '../../index';
import type { Tol } from '../tolerances';
import { expectClose } from '../helpers/compare';

export const CLIP_DIR = join(__dirname, '..', 'fixtures', 'clip');
export const CLIP_CASES = ['vit_tiny', 'rn_tiny'] as const;

export const loadSt = (file: string) => F.loadSafetensors(new Uint8Array(readFileSync(file)));

export function caseConfig(name: string): { config: F.ClipConfig; targetLayer: string } {
  const c = JSON.parse(readFileSync(join(CLIP_DIR, name, 'case.json'), 'utf8'));
  const k = c.config;
  return {
    targetLayer: c.target_layer,
    config: {
      embedDim: k.embed_dim, imageResolution: k.image_resolution, visionLayers: k.vision_layers, visionWidth: k.vision_width,
      visionPatchSize: k.vision_patch_size, contextLength: k.context_length, vocabSize: k.vocab_size,
      transformerWidth: k.transformer_width, transformerHeads: k.transformer_heads, transformerLayers: k.transformer_layers,
      ...(k.vision_heads ? { visionHeads: k.vision_heads } : {}),
    },
  };
}

/** Features, logits, the target layer's activation and the input gradient of one case against OpenAI's numbers. */
export async function runClipCase(name: string, device: 'cpu' | 'webgpu' | 'wasm', tol: Tol, gradTol: Tol, weightsFile = 'weights.safetensors'): Promise<void> {
  const { config, targetLayer } = caseConfig(name);
  const model = F.clip(config).eval();
  model.loadStateDict(await loadSt(join(CLIP_DIR, name, weightsFile)));
  await model.to(device);
  const inp = await loadSt(join(CLIP_DIR, name, 'input.safetensors'));
  const exp = await loadSt(join(CLIP_DIR, name, 'expected.safetensors'));
  const images = (await inp.images.toDevice(device)).requiresGrad_();
  const ids = await inp.ids.toDevice(device);
  let act: F.Tensor | null = null;
  const h = model.getSubmodule(targetLayer).registerForwardHook((_m, _i, out) => {
    act ??= out;
  });
  const imageFeatures = model.encodeImage(images);
  h.remove();
  expect(imageFeatures.device).toBe(device);
  expectClose(await imageFeatures.data(), await exp.image_features.data(), tol, 'image_features');
  expectClose(await act!.data(), await exp.target_activation.data(), tol, `${targetLayer} output`);
  expectClose(await model.encodeText(ids).data(), await exp.text_features.data(), tol, 'text_features');
  const { logitsPerImage, logitsPerText } = model.logits(images, ids);
  expectClose(await logitsPerImage.data(), await exp.logits_per_image.data(), tol, 'logits_per_image');
  expectClose(await logitsPerText.data(), await exp.logits_per_text.data(), tol, 'logits_per_text');
  expectClose(await model.forward(images, ids).data(), await exp.logits_per_image.data(), tol, 'forward');
  const loss = F.mul(logitsPerImage, await inp.probe.toDevice(device)).sum();
  expectClose([await loss.item()], await exp.loss.data(), tol, 'loss');
  const [g] = F.grad(loss, [images]);
  expectClose(await g!.data(), await exp.grad_images.data(), gradTol, 'grad_images');
}

/** clipPreprocess onto `device` against torchvision's _transform (test/fixtures/clip/preprocess). */
export async function runPreprocessCases(device: 'webgpu' | 'wasm', tol: Tol): Promise<void> {
  const dir = join(CLIP_DIR, 'preprocess');
  const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as { image: string; size: number }[];
  expect(cases.length).toBeGreaterThan(0);
  for (const c of cases) {
    const img = F.decodeImage(new Uint8Array(readFileSync(join(dir, c.image))));
    const exp = await loadSt(join(dir, c.image.replace('.png', '.expected.safetensors')));
    const { tensor } = F.clipPreprocess(img, { size: c.size, device });
    expect(tensor.device).toBe(device);
    expectClose(await tensor.data(), await exp.tensor.data(), tol, `${c.image} pixels`);
  }
}
