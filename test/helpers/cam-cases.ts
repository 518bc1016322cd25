// Shared by the CPU and WebGPU runs of the CAM fixtures (test/fixtures/cam/*.json from
// test/reference/make_cam_fixtures.py).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import * as F from '../../index';
import type { Tol } from '../tolerances';
import { TOL } from '../tolerances';
import { expectClose } from './compare';

export const FIX = join(__dirname, '..', 'fixtures');

interface TargetSpec {
  type: string;
  category?: number;
  main_category?: number;
  reference_categories?: number[];
  alpha?: number;
  objective?: 'weighted' | 'mean';
}

export interface CamCase {
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

export function loadCamCases(modelName: string): CamCase[] {
  return JSON.parse(readFileSync(join(FIX, 'cam', `${modelName}.json`), 'utf8')).cases;
}

async function setup(modelName: string, device: 'cpu' | 'webgpu' | 'wasm') {
  const caseInfo = JSON.parse(readFileSync(join(FIX, 'models', modelName, 'case.json'), 'utf8'));
  const model = F.resnet({ block: caseInfo.block, layers: caseInfo.layers, widths: caseInfo.widths, numClasses: caseInfo.numClasses });
  model.loadStateDict(await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', modelName, 'weights.safetensors')))));
  const io = await F.loadSafetensors(new Uint8Array(readFileSync(join(FIX, 'models', modelName, 'io.safetensors'))));
  if (device !== 'cpu') await model.to(device);
  return { model: model.eval(), input: await io.input.toDevice(device) };
}

function selectInput(x: F.Tensor, sel: CamCase['input']): F.Tensor {
  if (sel === 'first') return F.slice(x, 0, 0, 1);
  if (sel === 'all') return x;
  return F.concat([x, F.flip(x, 3)], 0).contiguous();
}

/** Runs one fixture case on a device and compares logits, categories and the map. */
export async function runCamCase(modelName: string, c: CamCase, device: 'cpu' | 'webgpu' | 'wasm', camTol: Tol): Promise<void> {
  const { model, input } = await setup(modelName, device);
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
  expectClose(await cam.data(), c.cam, camTol, c.name);
}
