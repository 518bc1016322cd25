// Module.dispose(): frees the whole tree's parameters, buffers and gradients, and every later use of the
// module (or of a submodule) is a clear error naming it — never a read of freed memory.
import { describe, expect, test } from 'vitest';
import * as F from '../../index';

function tinyResnet(): F.ResNet {
  F.manualSeed(11);
  return F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [2, 4, 4, 4], numClasses: 3 }).eval();
}

describe('Module.dispose', () => {
  test('disposes every parameter, buffer and .grad of the tree, once', () => {
    const m = tinyResnet();
    const x = F.randn([1, 3, 16, 16]);
    F.sum(m.forward(x)).backward();
    const tensors = [...m.parameters(), ...m.namedBuffers().map(([, t]) => t)];
    const grads = m.parameters().map((p) => p.grad!);
    expect(tensors.length).toBe(Object.keys(m.stateDict()).length);
    expect(grads.every((g) => g instanceof F.Tensor)).toBe(true);
    expect(m.isDisposed).toBe(false);
    m.dispose();
    expect(m.isDisposed).toBe(true);
    expect(m.fc.isDisposed).toBe(true);
    expect(tensors.filter((t) => !t.isDisposed)).toEqual([]);
    expect(grads.filter((g) => !g.isDisposed)).toEqual([]);
    expect(tensors.every((t) => t.grad === null)).toBe(true);
    expect(() => m.dispose()).not.toThrow();
  });

  test('using a disposed model or submodule throws an error naming it', async () => {
    const m = tinyResnet();
    const fc = m.fc;
    const x = F.randn([1, 3, 16, 16]);
    m.dispose();
    expect(() => m.forward(x)).toThrow('forward: module ResNet was disposed (dispose() freed its parameters and buffers); build or load a new model');
    expect(() => fc.forward(F.randn([1, 4]))).toThrow("forward: module 'fc' (Linear) of ResNet was disposed");
    expect(() => m.getSubmodule('layer1.0.conv1').forward(x)).toThrow("forward: module 'layer1.0.conv1' (Conv2d) of ResNet was disposed");
    expect(() => m.parameters()).toThrow('parameters: module ResNet was disposed');
    expect(() => m.stateDict()).toThrow('parameters: module ResNet was disposed');
    expect(() => m.namedBuffers()).toThrow('buffers: module ResNet was disposed');
    await expect(m.to('cpu')).rejects.toThrow('parameters: module ResNet was disposed');
  });

  test('a model with forward hooks (as a CAM installs them) still refuses to run after dispose', async () => {
    const m = tinyResnet();
    const cam = new F.GradCAM({ model: m, targetLayers: ['layer4'] });
    const x = F.randn([1, 3, 16, 16]);
    m.dispose();
    await expect(cam.forward({ inputTensor: x })).rejects.toThrow('forward: module ResNet was disposed');
  });

  test('disposing a submodule breaks the parent with an error naming the submodule', () => {
    const m = tinyResnet();
    m.fc.dispose();
    expect(() => m.forward(F.randn([1, 3, 16, 16]))).toThrow('forward: module Linear was disposed');
    expect(() => m.parameters()).toThrow('parameters: module Linear was disposed');
    expect(m.isDisposed).toBe(false);
    m.dispose(); // the rest of the tree can still be freed
    expect(m.conv1.weight.isDisposed).toBe(true);
  });
});
