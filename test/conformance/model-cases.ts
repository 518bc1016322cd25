// Models and CAMs on a backend under test against the same reference numbers as the CPU tests: the
// torchvision ResNet CAM fixtures (every method and FinerCAM) and the official DINOv2 / Finer-CAM cases.
// Shared by models.test.ts (WebGPU) and models-wasm.test.ts (wasm).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import type { Tol } from '../tolerances';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadCamCases, runCamCase } from '../helpers/cam-cases';

const DINO = join(__dirname, '..', 'fixtures', 'official-dinov2');
const load = (f: string) => F.loadSafetensors(new Uint8Array(readFileSync(f)));

function vitFrom(cfg: Record<string, number | boolean>): F.VisionTransformer {
  return F.visionTransformer({
    imgSize: cfg.img_size as number, patchSize: cfg.patch_size as number, embedDim: cfg.embed_dim as number, depth: cfg.depth as number,
    numHeads: cfg.num_heads as number, mlpRatio: cfg.mlp_ratio as number, initValues: cfg.init_values as number,
    numRegisterTokens: cfg.num_register_tokens as number, interpolateOffset: cfg.interpolate_offset as number,
    interpolateAntialias: cfg.interpolate_antialias as boolean,
  });
}

/** The DINOv2 model tests, for the caller's describe block. */
export function defineModelConformance(device: 'webgpu' | 'wasm', camTol: Tol): void {
  for (const name of ['dinov2_tiny_forward', 'dinov2_tiny_registers']) {
    test(`official DINOv2 ${name}: features and gradients`, async () => {
      const cfg = JSON.parse(readFileSync(join(DINO, name, 'case.json'), 'utf8')).config;
      const model = vitFrom(cfg).eval();
      model.loadStateDict(await load(join(DINO, name, 'weights.safetensors')));
      await model.to(device);
      const inp = await load(join(DINO, name, 'input.safetensors'));
      const exp = await load(join(DINO, name, 'expected.safetensors'));
      const x = (await inp.input.toDevice(device)).requiresGrad_();
      const f = model.forwardFeatures(x);
      expect(f.xNormPatchtokens.device).toBe(device);
      expectClose(await f.xNormClstoken.data(), await exp.x_norm_clstoken.data(), TOL.model, 'x_norm_clstoken');
      expectClose(await f.xNormPatchtokens.data(), await exp.x_norm_patchtokens.data(), TOL.model, 'x_norm_patchtokens');
      const loss = F.mul(f.xNormPatchtokens, await inp.probe.toDevice(device)).sum();
      const [g] = F.grad(loss, [x]);
      expectClose(await g!.data(), await exp.grad_input.data(), TOL.modelGrad, 'grad_input');
    });
  }

  test('official Finer-CAM on a tiny DINOv2: three modes', async () => {
    const dir = join(DINO, 'dinov2_tiny_finer');
    const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
    const model = new F.LinearProbe(vitFrom(c.config), c.config.num_classes);
    model.loadStateDict(await load(join(dir, 'weights.safetensors')));
    await model.to(device);
    const exp = await load(join(dir, 'expected.safetensors'));
    const x = await (await load(join(dir, 'input.safetensors'))).input.toDevice(device);
    const cam = new F.FinerCAM({ model, targetLayers: c.target_layers, reshapeTransform: F.vitReshapeTransform() });
    const keys = ['baseline', 'default', 'compare'] as const;
    const r = await cam.forwardModes({
      inputTensor: x, H: c.H, W: c.W, targetSize: c.target_size,
      modes: keys.map((k) => ({ alpha: c.modes[k].alpha, referenceCategoryRanks: c.modes[k].reference_category_ranks })),
    });
    for (const [i, k] of keys.entries()) {
      expect(r.references[i]).toEqual(c.modes[k].references);
      expect(r.cams[i].device).toBe(device);
      expectClose(await r.cams[i].data(), await exp[`cam_${k}`].data(), camTol, `cam_${k}`);
    }
  });
}

/** One describe block per CAM fixture model; `wrap` is describe or a GPU-aware variant of it. */
export function defineCamFixtureConformance(device: 'webgpu' | 'wasm', camTol: Tol, wrap: (name: string, fn: () => void) => void = describe): void {
  for (const modelName of ['resnet18_small', 'bottleneck_small']) {
    wrap(`CAM fixtures on ${device}: ${modelName}`, () => {
      for (const c of loadCamCases(modelName)) {
        test(c.name, () => runCamCase(modelName, c, device, camTol));
      }
    });
  }
}
