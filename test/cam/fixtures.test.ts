// Every CAM method and FinerCAM on two torchvision ResNets against independent PyTorch implementations of
// the formulas (test/reference/cam_reference.py → test/fixtures/cam/*.json, see make_cam_fixtures.py).
import { describe, test } from 'vitest';
import { TOL } from '../tolerances';
import { loadCamCases, runCamCase } from '../helpers/cam-cases';

for (const modelName of ['resnet18_small', 'bottleneck_small']) {
  describe(`CAM fixtures: ${modelName}`, () => {
    for (const c of loadCamCases(modelName)) {
      test(c.name, () => runCamCase(modelName, c, 'cpu', TOL.cam));
    }
  });
}
