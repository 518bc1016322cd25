// The teaching Grad-CAM (cam/grad-cam-by-hand.ts) computes the same map as the GradCAM pipeline: a reader who
// learns the eight steps there learns what GradCAM does. Layer c1 keeps the input's size, so the pipeline's
// final resize to the input size is the identity and the two maps compare element by element.
import { describe, expect, it } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { TinyCNN, det } from '../helpers/tiny-cnn';

describe('gradCam by hand', () => {
  const model = new TinyCNN();
  const x = det([1, 3, 8, 10], 0.19, 0.4, 1.0);

  for (const c of [0, 3, 5]) {
    it(`equals GradCAM on layer c1 for class ${c}`, async () => {
      const byHand = await F.gradCam(model, 'c1', x, c);
      const r = await new F.GradCAM({ model, targetLayers: ['c1'] }).forward({ inputTensor: x, targets: [new F.ClassifierOutputTarget(c)] });
      const pipeline = (await r.cam.data()) as Float32Array;
      expect(byHand.length).toBe(8 * 10);
      expect(Math.max(...byHand)).toBeGreaterThan(0.5); // a real map, not all zeros
      expectClose(byHand, pipeline, TOL.cam, `class ${c}`);
    });
  }

  it('uses the top class when none is given', async () => {
    const logits = (await model.forward(x).data()) as Float32Array;
    const top = logits.indexOf(Math.max(...logits));
    expectClose(await F.gradCam(model, 'c1', x), await F.gradCam(model, 'c1', x, top), TOL.cam, 'top class');
  });

  it('names a layer that did not run', async () => {
    class WithUnused extends TinyCNN {
      readonly unused = this.addModule('unused', new F.ReLU());
    }
    await expect(F.gradCam(new WithUnused(), 'unused', x)).rejects.toThrow(/layer 'unused' did not run/);
  });
});
