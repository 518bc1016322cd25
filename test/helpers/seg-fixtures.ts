// The tiny torchvision segmentation models of test/reference/make_cam_extras_fixtures.py
// (test/fixtures/cam-extras/seg_<name>.safetensors + seg.json), rebuilt with our constructors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as F from '../../index';
import { loadFixture } from './fixtures';

export const EXTRAS = join(__dirname, '..', 'fixtures', 'cam-extras');

export interface SegModelSpec {
  name: string; kind: 'deeplabv3' | 'fcn'; layers: [number, number, number, number]; widths: [number, number, number, number];
  numClasses: number; asppChannels?: number; atrousRates?: number[]; input: number[];
}
export interface SegCamCase { name: string; method: string; targetLayers: string[]; categories: number[] }
export interface SegFinerCase { name: string; targetIdx: number | null; alpha: number; ranks: number[]; mains: number[]; references: number[][] }
export const segMeta = loadFixture<{ models: SegModelSpec[]; cases: { model: string; cases: SegCamCase[] }[]; finer: SegFinerCase[] }>('cam-extras/seg.json');

export async function loadSegModel(name: string): Promise<{ model: F.SegmentationModel; data: F.StateDict; spec: SegModelSpec }> {
  const spec = segMeta.models.find((m) => m.name === name)!;
  const data = await F.loadSafetensors(new Uint8Array(readFileSync(join(EXTRAS, `seg_${name}.safetensors`))));
  const model = new F.SegmentationModel(spec.kind, {
    numClasses: spec.numClasses, auxLoss: true, layers: spec.layers, widths: spec.widths, atrousRates: spec.atrousRates, asppChannels: spec.asppChannels,
  });
  const sd: Record<string, F.Tensor> = {};
  for (const [k, v] of Object.entries(data)) if (k.startsWith('model.')) sd[k.slice(6)] = v;
  model.loadStateDict(sd);
  model.eval();
  return { model, data, spec };
}
