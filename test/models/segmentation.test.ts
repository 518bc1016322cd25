// torchvision's DeepLabV3 / FCN (test/reference/make_cam_extras_fixtures.py): the tiny models' `out` and `aux`
// maps against torchvision, the full-size constructors' state-dict names and shapes, and bad options.
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';
import { loadFixture } from '../helpers/fixtures';
import { loadSegModel, segMeta } from '../helpers/seg-fixtures';

describe('segmentation models against torchvision', () => {
  for (const spec of segMeta.models) {
    test(`${spec.name}: forwardAll gives torchvision's out and aux; forward gives out`, async () => {
      const { model, data } = await loadSegModel(spec.name);
      const r = model.forwardAll(data.input);
      expect(r.out.shape).toEqual([spec.input[0], spec.numClasses, spec.input[2], spec.input[3]]);
      expectClose(await r.out.data(), await data.out.data(), TOL.model, 'out');
      expectClose(await r.aux!.data(), await data.aux.data(), TOL.model, 'aux');
      expectClose(await model.forward(data.input).data(), await data.out.data(), TOL.model, 'forward');
    });
  }
});

describe('full-size constructors', () => {
  const keys = loadFixture<Record<string, [string, number[]][]>>('cam-extras/seg_keys.json');
  const shapes = (m: F.Module): [string, number[]][] => Object.entries(m.stateDict()).map(([k, v]) => [k, [...v.shape]]);
  test('deeplabv3Resnet50 / fcnResnet50 (auxLoss) have torchvision\'s state dicts (names and shapes)', () => {
    const cases: [string, () => F.SegmentationModel][] = [
      ['deeplabv3_resnet50', () => F.deeplabv3Resnet50({ numClasses: 21, auxLoss: true })],
      ['fcn_resnet50', () => F.fcnResnet50({ numClasses: 21, auxLoss: true })],
    ];
    for (const [name, make] of cases) {
      const m = make();
      const got = shapes(m).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const want = [...keys[name]].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      expect(got, name).toEqual(want);
      m.dispose();
    }
  });
  test('deeplabv3Resnet101 has torchvision\'s names (small widths); fcnResnet101 has no aux head by default', () => {
    const d = F.deeplabv3Resnet101({ numClasses: 21, widths: [2, 4, 8, 16], asppChannels: 4 });
    expect(Object.keys(d.stateDict()).sort()).toEqual(keys.deeplabv3_resnet101.map(([k]) => k).sort());
    const m = F.fcnResnet101({ numClasses: 3, widths: [2, 2, 2, 2] }).eval();
    expect(m.backbone.layer3.length).toBe(23);
    expect(m.aux_classifier).toBeNull();
    expect(m.forwardAll(F.zeros([1, 3, 16, 16])).aux).toBeUndefined();
  });
});

describe('segmentation bad input', () => {
  test('named errors', () => {
    expect(() => F.deeplabv3Resnet50({ numClasses: 0 })).toThrow(/deeplabv3: numClasses must be a positive integer, got 0/);
    expect(() => new F.SegmentationModel('fcn', { widths: [1, 2] as unknown as [number, number, number, number] })).toThrow(/fcn: widths must be 4 positive integers/);
    expect(() => F.deeplabv3Resnet50({ atrousRates: [12, -1] })).toThrow(/deeplabv3: atrousRates must be/);
    const m = new F.SegmentationModel('fcn', { numClasses: 2, widths: [2, 2, 2, 2], layers: [1, 1, 1, 1] });
    expect(() => m.forward(F.zeros([1, 1, 8, 8]))).toThrow(/fcn\.forward: expected an input \[N, 3, H, W\], got \[1, 1, 8, 8\]/);
  });
});
