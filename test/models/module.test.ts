// Module system: names, hooks, state dicts, errors.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import * as F from '../../index';

function tinyResnet() {
  F.manualSeed(3);
  return F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [2, 4, 4, 4], numClasses: 3 }).eval();
}

describe('Module', () => {
  test('getSubmodule resolves dotted names and negative indices', () => {
    const m = tinyResnet();
    expect(m.getSubmodule('layer4.0.conv2')).toBe((m.layer4.at(0) as F.BasicBlock).conv2);
    expect(m.getSubmodule('layer4.-1')).toBe(m.layer4.at(-1));
    expect(() => m.getSubmodule('layer4.3')).toThrow(/'layer4' \(Sequential\) has no child '3'/);
    expect(() => m.getSubmodule('layer9')).toThrow(/no child 'layer9'/);
    expect(() => m.getSubmodule('layer4.-2')).toThrow(/index -2 is out of range/);
  });

  test('state dict round trip through safetensors gives identical outputs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1000 }), async (seed) => {
        F.manualSeed(seed);
        const a = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [2, 2, 4, 4], numClasses: 3 }).eval();
        F.manualSeed(seed + 1);
        const b = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [2, 2, 4, 4], numClasses: 3 }).eval();
        const bytes = await F.saveSafetensors(a.stateDict());
        b.loadStateDict(await F.loadSafetensors(bytes));
        const x = F.randn([1, 3, 32, 32]);
        expect(Array.from(await b.forward(x).data())).toEqual(Array.from(await a.forward(x).data()));
      }),
      { numRuns: 4 },
    );
  });

  test('forward hooks fire once per call, in registration order, can replace the output, and remove() works', async () => {
    const m = tinyResnet();
    const calls: string[] = [];
    const h1 = m.getSubmodule('layer2').registerForwardHook(() => {
      calls.push('a');
    });
    m.getSubmodule('layer2').registerForwardHook(() => {
      calls.push('b');
    });
    const x = F.randn([1, 3, 32, 32]);
    m.forward(x);
    expect(calls).toEqual(['a', 'b']);
    h1.remove();
    m.forward(x);
    expect(calls).toEqual(['a', 'b', 'b']);
    // a hook that returns zeros replaces layer4's output: logits become the fc bias
    m.getSubmodule('layer4').registerForwardHook((_m, _i, out) => F.zerosLike(out));
    const logits = await m.forward(x).data();
    expect(Array.from(logits)).toEqual(Array.from(await m.fc.bias!.data()));
  });

  test('loadStateDict names every missing, unexpected and mis-shaped key in one error', () => {
    const m = tinyResnet();
    const sd = { ...m.stateDict() };
    delete sd['fc.bias'];
    delete sd['layer1.0.bn1.running_var'];
    sd['extra.weight'] = F.zeros([1]);
    sd['fc.weight'] = F.zeros([5, 5]);
    let msg = '';
    try {
      m.loadStateDict(sd);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/fc\.weight: checkpoint \[5, 5\] vs model \[3, 4\]/);
    expect(msg).toMatch(/missing key\(s\): .*fc\.bias/);
    expect(msg).toMatch(/missing key\(s\): .*layer1\.0\.bn1\.running_var/);
    expect(msg).toMatch(/unexpected key\(s\): extra\.weight/);
  });

  test('non-strict loading reports missing and unexpected keys', () => {
    const m = tinyResnet();
    const sd = { ...m.stateDict() };
    delete sd['fc.bias'];
    sd['extra'] = F.zeros([1]);
    const r = m.loadStateDict(sd, { strict: false });
    expect(r.missingKeys).toEqual(['fc.bias']);
    expect(r.unexpectedKeys).toEqual(['extra']);
  });

  test('train() and eval() set the mode recursively', () => {
    const m = tinyResnet();
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    expect(m.modules().some((x) => x.training)).toBe(false);
  });
});
