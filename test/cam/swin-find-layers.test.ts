// swinReshapeTransform and the find-layers helpers against pytorch-grad-cam's swinT_reshape_transform and
// utils/find_layers.py (test/reference/make_cam_extras_fixtures.py → test/fixtures/cam-extras/misc.json).
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { loadFixture } from '../helpers/fixtures';

interface Misc {
  swin: { input: number[]; inputShape: number[]; height: number; width: number; output: number[]; outputShape: number[] };
  find_types_conv_bn: string[]; find_predicate_1x1: string[]; find_types_relu: string[];
}
const fx = loadFixture<Misc>('cam-extras/misc.json');

function resnet18Small(): F.ResNet {
  return F.resnet({ block: 'basic', layers: [2, 2, 2, 2], widths: [4, 8, 16, 32], numClasses: 10 });
}
function namesOf(model: F.Module, layers: F.Module[]): string[] {
  const names = new Map<F.Module, string>();
  for (const [n, m] of model.namedModules()) if (!names.has(m)) names.set(m, n);
  return layers.map((l) => names.get(l)!);
}

describe('swinReshapeTransform', () => {
  test('tokens [N, L, C] → [N, C, h, w] as the package; channels-last maps too; H/W per call win', async () => {
    const s = fx.swin;
    const t = F.tensor(Float32Array.from(s.input), s.inputShape);
    const r = F.swinReshapeTransform({ height: s.height, width: s.width })(t, {});
    expect(r.shape).toEqual(s.outputShape);
    expect(Array.from(await r.contiguous().data())).toEqual(Array.from(Float32Array.from(s.output)));
    const r2 = F.swinReshapeTransform()(F.reshape(t, [2, 3, 4, 5]), { H: 3, W: 4 });
    expect(Array.from(await r2.contiguous().data())).toEqual(Array.from(Float32Array.from(s.output)));
  });
  test('bad input: named errors', () => {
    expect(() => F.swinReshapeTransform({ height: 0 })).toThrow(/swinReshapeTransform: height must be a positive integer, got 0/);
    expect(() => F.swinReshapeTransform()(F.zeros([1, 12, 5]), {})).toThrow(/a 7×7 grid does not match 12 tokens \(\[1, 12, 5\]\)/);
    expect(() => F.swinReshapeTransform()(F.zeros([12, 5]), {})).toThrow(/expected tokens \[N, L, C\] or channels-last maps/);
    expect(() => F.swinReshapeTransform()(F.zeros([1, 12, 5]), { H: 3 })).toThrow(/give both H and W/);
  });
});

describe('find-layers helpers', () => {
  test('findLayerTypes / findLayerPredicate give the package\'s layers in its order', () => {
    const m = resnet18Small();
    expect(namesOf(m, F.findLayerTypes(m, [F.Conv2d, F.BatchNorm2d]))).toEqual(fx.find_types_conv_bn);
    expect(namesOf(m, F.findLayerPredicate(m, (l) => l instanceof F.Conv2d && l.weight.shape[2] === 1))).toEqual(fx.find_predicate_1x1);
    expect(namesOf(m, F.findLayerTypes(m, [F.ReLU]))).toEqual(fx.find_types_relu);
  });
  test('findLayerTypes matches exact classes only (not subclasses), as type(layer) in layer_types', () => {
    class MyReLU extends F.ReLU {}
    const s = new F.Sequential(new F.ReLU(), new MyReLU());
    expect(F.findLayerTypes(s, [F.ReLU]).length).toBe(1);
    expect(F.findLayerPredicate(s, (l) => l instanceof F.ReLU).length).toBe(2);
  });
  test('replaceAllLayerType swaps every BatchNorm2d (fields and Sequentials) and the forward uses the new layers', async () => {
    const m = resnet18Small().eval();
    const x = F.randn([1, 3, 32, 32]);
    const n = F.replaceAllLayerType(m, F.BatchNorm2d, () => new F.Identity());
    expect(n).toBe(fx.find_types_conv_bn.length / 2);
    expect(F.findLayerTypes(m, [F.BatchNorm2d])).toEqual([]);
    expect(m.bn1).toBeInstanceOf(F.Identity);
    expect((m.layer2.at(0) as F.BasicBlock).downsample).toBeInstanceOf(F.Sequential);
    expect(((m.layer2.at(0) as F.BasicBlock).downsample as F.Sequential).at(1)).toBeInstanceOf(F.Identity);
    // the state dict lost the BatchNorm entries; a model without BatchNorm computes the same logits
    expect(Object.keys(m.stateDict()).some((k) => k.includes('running_mean'))).toBe(false);
    const ref = resnet18Small().eval();
    ref.loadStateDict(m.stateDict(), { strict: false });
    F.replaceAllLayerType(ref, F.BatchNorm2d, new F.Identity());
    expect(Array.from(await ref.forward(x).data())).toEqual(Array.from(await m.forward(x).data()));
  });
  test('replaceLayer swaps one instance; bad arguments: named errors', () => {
    const m = resnet18Small();
    const old = m.layer4;
    const repl = new F.Sequential(new F.Identity());
    expect(F.replaceLayer(m, old, repl)).toBe(true);
    expect(m.layer4).toBe(repl);
    expect(m.getSubmodule('layer4')).toBe(repl);
    expect(F.replaceLayer(m, old, repl)).toBe(false);
    expect(() => F.findLayerTypes(m, [Object as unknown as typeof F.ReLU])).toThrow(/findLayerTypes: expected Module classes/);
    expect(() => F.findLayerPredicate(m, 3 as unknown as () => boolean)).toThrow(/predicate must be a function/);
    expect(() => F.replaceAllLayerType(m, F.ReLU, 'x' as unknown as F.Module)).toThrow(/newLayer must be a Module or a function/);
  });
});
