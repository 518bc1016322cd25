import { join } from 'node:path';
import { test } from 'vitest';
import * as F from '../../index';
import { gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
useGpuTeardown();
if (gpu) registerBackend(gpu);
import { CLIP_DIR, caseConfig, loadSt } from './clip-cases';
const md = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
test('maxerr', async () => {
  for (const dev of ['cpu', 'webgpu'] as const) for (const name of ['vit_tiny', 'rn_tiny']) {
    const { config } = caseConfig(name);
    const model = F.clip(config).eval();
    model.loadStateDict(await loadSt(join(CLIP_DIR, name, 'weights.safetensors'))); await model.to(dev);
    const inp0 = await loadSt(join(CLIP_DIR, name, 'input.safetensors')); const inp = { images: await inp0.images.toDevice(dev), ids: await inp0.ids.toDevice(dev), probe: await inp0.probe.toDevice(dev) };
    const exp = await loadSt(join(CLIP_DIR, name, 'expected.safetensors'));
    const images = inp.images.detach().requiresGrad_();
    const { logitsPerImage } = model.logits(images, inp.ids);
    const loss = F.mul(logitsPerImage, inp.probe).sum();
    const [g] = F.grad(loss, [images]);
    console.log(dev, name, 'img', md(await model.encodeImage(inp.images).data(), await exp.image_features.data()), 'txt', md(await model.encodeText(inp.ids).data(), await exp.text_features.data()),
      'logits', md(await logitsPerImage.data(), await exp.logits_per_image.data()), 'grad', md(await g!.data(), await exp.grad_images.data()),
      'maximg', Math.max(...(await exp.image_features.data()).map(Math.abs)), 'maxlogit', Math.max(...(await exp.logits_per_image.data()).map(Math.abs)), 'maxgrad', Math.max(...(await exp.grad_images.data()).map(Math.abs)));
  }
});
