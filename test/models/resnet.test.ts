// torchvision ResNets (reduced widths, torchvision's own block code) against PyTorch: logits, hooked
// activations and the Grad-CAM gradient, with weights read from both safetensors and .pth.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

const DIR = join(__dirname, '..', 'fixtures', 'models');

interface Case {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  widths: [number, number, number, number];
  numClasses: number;
  targets: number[];
}

async function run(name: string, format: 'safetensors' | 'pth') {
  const c: Case = JSON.parse(readFileSync(join(DIR, name, 'case.json'), 'utf8'));
  const bytes = readFileSync(join(DIR, name, format === 'pth' ? 'weights.pth' : 'weights.safetensors'));
  const sd = format === 'pth' ? await F.loadTorchCheckpoint(new Uint8Array(bytes)) : await F.loadSafetensors(new Uint8Array(bytes));
  const io = await F.loadSafetensors(new Uint8Array(readFileSync(join(DIR, name, 'io.safetensors'))));
  const model = F.resnet({ block: c.block, layers: c.layers, widths: c.widths, numClasses: c.numClasses });
  model.loadStateDict(sd);
  model.eval();
  const acts: Record<string, F.Tensor> = {};
  for (const key of ['layer1', 'layer3', 'layer4']) {
    model.getSubmodule(key).registerForwardHook((_m, _i, out) => {
      acts[key] = out;
    });
  }
  const x = io.input;
  const logits = model.forward(x);
  expectClose(await logits.data(), await io.logits.data(), TOL.model, `${name} logits`);
  for (const key of ['layer1', 'layer3', 'layer4']) {
    expect(acts[key].shape).toEqual(io[key].shape);
    expectClose(await acts[key].data(), await io[key].data(), TOL.model, `${name} ${key}`);
  }
  const idx = F.argmax(logits, 1);
  expect(Array.from(await idx.data())).toEqual(c.targets);
  const score = F.gather(logits, 1, F.unsqueeze(idx, 1)).sum();
  const [g] = F.grad(score, [acts.layer4]);
  expectClose(await g!.data(), await io.grad_layer4.data(), TOL.modelGrad, `${name} d score / d layer4`);
}

describe('torchvision ResNet against PyTorch', () => {
  test('resnet18 (BasicBlock) from safetensors', () => run('resnet18_small', 'safetensors'));
  test('resnet18 (BasicBlock) from .pth', () => run('resnet18_small', 'pth'));
  test('Bottleneck ResNet from safetensors', () => run('bottleneck_small', 'safetensors'));
  test('Bottleneck ResNet from .pth', () => run('bottleneck_small', 'pth'));
});

describe('ResNet presets and names', () => {
  test('preset parameter names and counts match torchvision', () => {
    const m = F.resnet18({ numClasses: 1000 });
    const names = m.namedParameters().map(([n]) => n);
    expect(names.slice(0, 3)).toEqual(['conv1.weight', 'bn1.weight', 'bn1.bias']);
    expect(names).toContain('layer4.1.conv2.weight');
    expect(names).toContain('layer2.0.downsample.0.weight');
    expect(names).toContain('layer2.0.downsample.1.bias');
    // torchvision resnet18: 11,689,512 parameters
    expect(m.parameters().reduce((s, p) => s + p.size, 0)).toBe(11689512);
    expect(Object.keys(m.stateDict())).toContain('bn1.num_batches_tracked');
  });

  test('resnet50 has torchvision\'s 25,557,032 parameters', () => {
    const m = F.resnet50();
    expect(m.parameters().reduce((s, p) => s + p.size, 0)).toBe(25557032);
  });

  test('wrong input channels give a clear error', () => {
    const m = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [2, 2, 2, 2], numClasses: 3 });
    expect(() => m.forward(F.zeros([1, 1, 32, 32]))).toThrow(/expected input \[N, 3, H, W\], got \[1, 1, 32, 32\]/);
  });
});
