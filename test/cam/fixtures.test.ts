// Every CAM method and FinerCAM on two torchvision ResNets against independent PyTorch implementations of
// the formulas (test/reference/cam_reference.py → test/fixtures/cam/*.json, see make_cam_fixtures.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

const FIX = join(__dirname, '..', 'fixtures');

interface TargetSpec {
  type: string;
  category?: number;
  main_category?: number;
  reference_categories?: number[];
  alpha?: number;
  objective?: 'weighted' | 'mean';
}

interface Case {
  name: string;
  method: string;
  base_method?: string;
  target_layers: string[];
  input: 'first' | 'all' | 'with_hflip';
  options: { target_size?: [number, number]; eigen_smooth?: boolean; alpha?: number; reference_category_ranks?: number[]; target_idx?: number; objective?: 'weighted' | 'mean' };
  targets: TargetSpec[] | null;
  main_categories?: number[];
  reference_categories?: number[][];
  logits: number[][];
  cam_shape: number[];
  cam: number[];
}

const CLASS_NAMES: Record<string, string> = { KPCA_CAM: 'KPCACAM' };

function camClass(name: string): F.CAMClass {
  const cls = (F as unknown as Record<string, F.CAMClass>)[CLASS_NAMES[name] ?? name];
  if (typeof cls !== 'function') throw new Error(`no CAM class exported for method ${name}`);
  return cls;
}

function makeTarget(t: TargetSpec): F.Target {
  switch (t.type) {
    case 'ClassifierOutputTarget': return new F.ClassifierOutputTarget(t.category!);
    case 'ClassifierOutputSoftmaxTarget': return new F.ClassifierOutputSoftmaxTarget(t.category!);
    case 'ClassifierOutputReST': return new F.ClassifierOutputReST(t.category!);
    case 'FinerWeightedTarget': return new F.FinerWeightedTarget(t.main_category!, t.reference_categories!, t.alpha, { objective: t.objective });
    default: throw new Error(`unknown target type ${t.type}`);
  }
}

for (const modelName of ['resnet18_small', 'bottleneck_small']) {
  const data = JSON.parse(readFileSync(join(FIX, 'cam', `${modelName}.json`), 'utf8'));
  const caseInfo = JSON.parse(readFileSync(join(FIX, 'models', modelName, 'case.json'), 'utf8'));

  async function setup() {
    const model = F.resnet({ block: caseInfo.block, layers: caseInfo.layers, widths: caseInfo.widths, numClasses: caseInfo.numClasses });
    model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', modelName, 'weights.safetensors')))));
    const io = await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', modelName, 'io.safetensors'))));
    return { model: model.eval(), input: io.input };
  }

  function selectInput(x: F.Tensor, sel: Case['input']): F.Tensor {
    if (sel === 'first') return F.slice(x, 0, 0, 1);
    if (sel === 'all') return x;
    return F.concat([x, F.flip(x, 3)], 0).contiguous();
  }

  describe(`CAM fixtures: ${modelName}`, () => {
    for (const c of data.cases as Case[]) {
      test(c.name, async () => {
        const { model, input } = await setup();
        const x = selectInput(input, c.input);
        const targets = c.targets ? c.targets.map(makeTarget) : null;
        let cam: F.Tensor;
        let outputs: F.Tensor;
        if (c.method === 'FinerCAM') {
          const fc = new F.FinerCAM({ model, targetLayers: c.target_layers, baseMethod: camClass(c.base_method!) });
          const r = await fc.forward({
            inputTensor: x, targets, targetSize: c.options.target_size ?? null, eigenSmooth: c.options.eigen_smooth,
            alpha: c.options.alpha, referenceCategoryRanks: c.options.reference_category_ranks, targetIdx: c.options.target_idx,
            objective: c.options.objective,
          });
          if (!targets) {
            expect(r.mainCategories).toEqual(c.main_categories);
            expect(r.references).toEqual(c.reference_categories);
          }
          cam = r.cam;
          outputs = r.outputs;
          fc.dispose();
        } else {
          const Cls = camClass(c.method);
          const m = new Cls({ model, targetLayers: c.target_layers });
          const r = await m.forward({ inputTensor: x, targets, targetSize: c.options.target_size ?? null, eigenSmooth: c.options.eigen_smooth });
          cam = r.cam;
          outputs = r.outputs;
          m.dispose();
        }
        expectClose(await outputs.data(), c.logits.flat(), TOL.model, `${c.name} logits`);
        expect(cam.shape).toEqual(c.cam_shape);
        expectClose(await cam.data(), c.cam, TOL.cam, c.name);
      });
    }
  });
}
