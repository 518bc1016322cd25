// Finer-CAM on a tiny DINOv2 + linear probe against the official Finer-CAM code
// (test/fixtures/official-dinov2/dinov2_tiny_finer; see its README): the three generate_cams modes, with
// and without targetSize, categories, target-layer activations and gradients, and the objective value.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

const DIR = join(__dirname, '..', 'fixtures', 'official-dinov2', 'dinov2_tiny_finer');
const caseJson = JSON.parse(readFileSync(join(DIR, 'case.json'), 'utf8'));

async function setup() {
  const cfg = caseJson.config;
  const backbone = F.visionTransformer({
    imgSize: cfg.img_size, patchSize: cfg.patch_size, embedDim: cfg.embed_dim, depth: cfg.depth, numHeads: cfg.num_heads,
    mlpRatio: cfg.mlp_ratio, initValues: cfg.init_values, interpolateOffset: cfg.interpolate_offset, interpolateAntialias: cfg.interpolate_antialias,
  });
  const model = new F.LinearProbe(backbone, cfg.num_classes);
  model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(join(DIR, 'weights.safetensors')))));
  const inp = await F.loadSafetensors(new Uint8Array(readFileSync(join(DIR, 'input.safetensors'))));
  const exp = await F.loadSafetensors(new Uint8Array(readFileSync(join(DIR, 'expected.safetensors'))));
  return { model, x: inp.input, exp };
}

describe('official Finer-CAM on a tiny DINOv2', () => {
  for (const mode of ['baseline', 'default', 'compare'] as const) {
    test(`${caseJson.modes[mode].generate_cams_name}`, async () => {
      const { model, x, exp } = await setup();
      const m = caseJson.modes[mode];
      const cam = new F.FinerCAM({ model, targetLayers: caseJson.target_layers, reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1 }) });
      const opts = { inputTensor: x, alpha: m.alpha, referenceCategoryRanks: m.reference_category_ranks, H: caseJson.H, W: caseJson.W };
      const grid = await cam.forward(opts);
      expect(grid.mainCategories).toEqual(m.main_categories);
      expect(grid.references).toEqual(m.references);
      expect(grid.cam.shape).toEqual([1, caseJson.H, caseJson.W]);
      expectClose(await grid.outputs.data(), await exp.logits.data(), TOL.model, 'logits');
      expectClose(await grid.cam.data(), await exp[`cam_grid_${mode}`].data(), TOL.cam, `cam_grid_${mode}`);
      const full = await cam.forward({ ...opts, targetSize: caseJson.target_size });
      expect(full.cam.shape).toEqual([1, caseJson.target_size[1], caseJson.target_size[0]]);
      expectClose(await full.cam.data(), await exp[`cam_${mode}`].data(), TOL.cam, `cam_${mode}`);
      cam.dispose();
    });
  }

  test('target-layer activations, gradients and objective through ActivationsAndGradients', async () => {
    const { model, x, exp } = await setup();
    const capture = new F.ActivationsAndGradients(model, caseJson.target_layers, F.vitReshapeTransform());
    const out = capture.call(x, { H: caseJson.H, W: caseJson.W });
    expectClose(await capture.activations()[0].data(), await exp.activations_0.data(), TOL.model, 'activations_0');
    const m = caseJson.modes.default;
    const target = new F.FinerWeightedTarget(m.main_categories[0], m.references[0], m.alpha);
    const objective = target.call(F.select(out, 0, 0));
    expectClose([await objective.item()], await exp.objective_default.data(), TOL.model, 'objective');
    const [g] = capture.gradients(objective);
    expectClose(await g.data(), await exp.gradients_0_default.data(), TOL.modelGrad, 'gradients_0_default');
    capture.dispose();
  });

  test('the three modes from one forward pass equal three separate calls', async () => {
    const { model, x, exp } = await setup();
    const cam = new F.FinerCAM({ model, targetLayers: caseJson.target_layers, reshapeTransform: F.vitReshapeTransform() });
    const modes = (['baseline', 'default', 'compare'] as const).map((k) => caseJson.modes[k]);
    const r = await cam.forwardModes({
      inputTensor: x, H: caseJson.H, W: caseJson.W,
      modes: modes.map((m) => ({ alpha: m.alpha, referenceCategoryRanks: m.reference_category_ranks })),
    });
    for (const [i, k] of (['baseline', 'default', 'compare'] as const).entries()) {
      expectClose(await r.cams[i].data(), await exp[`cam_grid_${k}`].data(), TOL.cam, k);
      expect(r.references[i]).toEqual(caseJson.modes[k].references);
    }
  });
});
