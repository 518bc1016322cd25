// BatchNorm folded into the convolution before it on the wasm backend (models/fold-batchnorm.ts): a small
// bottleneck ResNet with non-trivial BatchNorm statistics gives the same logits, the same gradients (input,
// conv weights, γ, β) and the same CAMs as the unfolded model on the CPU reference within the tolerances the
// wasm model tests use; the fold really happens (BatchNorm's elementwise passes are gone), and it is skipped
// where it could be seen: a forward hook on the conv, the BatchNorm or the ReLU after them (exact output),
// training mode.
import { afterAll, describe, expect, test } from 'vitest';
import * as F from '../../index';
import { getBackend } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

afterAll(async () => {
  await F.setDefaultDevice('cpu');
});

/** A bottleneck ResNet (every block kind: stem, downsample, stride) with random BatchNorm stats and affine. */
function smallResnet(): F.ResNet {
  F.manualSeed(3);
  const m = F.resnet({ block: 'bottleneck', layers: [1, 2, 1, 1], widths: [8, 8, 16, 16], numClasses: 7 });
  F.noGrad(() => {
    for (const mod of m.modules()) {
      if (!(mod instanceof F.BatchNorm2d)) continue;
      const c = mod.numFeatures;
      const set = (t: F.Tensor, v: F.Tensor) => t.replaceStorage(v.storageRef);
      set(mod.runningMean, F.mul(F.randn([c]), 0.3));
      set(mod.runningVar, F.add(F.rand([c]), 0.5));
      set(mod.weight, F.add(F.mul(F.randn([c]), 0.2), 1));
      set(mod.bias, F.mul(F.randn([c]), 0.1));
    }
  });
  return m.eval();
}

async function pair(): Promise<{ cpu: F.ResNet; wasm: F.ResNet; x: F.Tensor; xw: F.Tensor }> {
  const cpu = smallResnet();
  const wasm = smallResnet();
  await wasm.to('wasm');
  F.manualSeed(9);
  const x = F.randn([2, 3, 40, 40]);
  return { cpu, wasm, x, xw: await x.toDevice('wasm') };
}

/** Counts the wasm backend's binary ops during fn (BatchNorm in eval mode makes four per layer). */
async function binaryCalls<T>(fn: () => T): Promise<{ value: T; calls: number }> {
  const b = (await getBackend('wasm')) as WasmBackend;
  const orig = b.binary;
  let calls = 0;
  b.binary = function (this: WasmBackend, ...a: Parameters<WasmBackend['binary']>) {
    calls++;
    return orig.apply(this, a);
  };
  try {
    return { value: fn(), calls };
  } finally {
    b.binary = orig;
  }
}

describe('BatchNorm folding on wasm', () => {
  test('logits equal the unfolded CPU model, and BatchNorm no longer runs elementwise', async () => {
    const { cpu, wasm, x, xw } = await pair();
    const want = await F.noGrad(() => cpu.forward(x)).data();
    F.noGrad(() => wasm.forward(xw)); // the first call folds (and caches) the weights
    const { value: y, calls } = await binaryCalls(() => F.noGrad(() => wasm.forward(xw)));
    expectClose(await y.data(), want, TOL.model, 'logits');
    expect(calls).toBe(5); // the five residual adds; unfolded it would be 5 + 4 per BatchNorm
    // training mode: no folding (batch statistics), the same as the CPU's
    cpu.train();
    wasm.train();
    const yt = await binaryCalls(() => F.noGrad(() => wasm.forward(xw)));
    expect(yt.calls).toBeGreaterThan(20);
    expectClose(await yt.value.data(), await F.noGrad(() => cpu.forward(x)).data(), TOL.model, 'training-mode logits');
  });

  test('gradients through the folded layers: input, conv weights, γ and β', async () => {
    const { cpu, wasm, x, xw } = await pair();
    const grads = async (m: F.ResNet, input: F.Tensor) => {
      const xi = input.detach().requiresGrad_();
      const names = ['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer2.0.conv2.weight', 'layer2.0.bn2.weight', 'layer2.0.downsample.1.bias', 'layer4.0.bn3.weight'];
      const all = new Map(m.namedParameters());
      const params = names.map((n) => all.get(n)!);
      const loss = F.mul(m.forward(xi), await F.arange(0, 7).toDevice(input.device)).sum();
      const gs = F.grad(loss, [xi, ...params]);
      return Promise.all(gs.map((g) => g!.data()));
    };
    const want = await grads(cpu, x);
    const got = await grads(wasm, xw);
    got.forEach((g, i) => expectClose(g, want[i], TOL.modelGrad, `gradient ${i}`));
  });

  test('a hook on a conv or its BatchNorm sees the exact unfolded output', async () => {
    const { cpu, wasm, x, xw } = await pair();
    // (a ReLU module is shared by a block's three activations: its hook sees three outputs per forward)
    for (const name of ['layer2.0.bn2', 'layer2.0.conv2', 'layer3.0.downsample.0', 'layer2.0.relu']) {
      const seen: F.Tensor[][] = [[], []];
      const hs = [cpu, wasm].map((m, i) => m.getSubmodule(name).registerForwardHook((_m, _i, out) => void seen[i].push(out)));
      F.noGrad(() => cpu.forward(x));
      F.noGrad(() => wasm.forward(xw));
      expect(seen[1].length).toBe(seen[0].length);
      for (let k = 0; k < seen[0].length; k++) expectClose(await seen[1][k].data(), await seen[0][k].data(), TOL.crossBackend, `${name} #${k}`);
      for (const h of hs) h.remove();
    }
  });

  test('Finer-CAM on layer4 and on a BatchNorm inside it: the same maps as on the CPU', async () => {
    const { cpu, wasm, x, xw } = await pair();
    for (const layer of ['layer4', 'layer4.0.bn3']) {
      const maps = [];
      for (const [m, input] of [[cpu, x], [wasm, xw]] as const) {
        const cam = new F.FinerCAM({ model: m, targetLayers: [layer], baseMethod: F.GradCAM });
        const r = await cam.forward({ inputTensor: input });
        maps.push(await r.cam.data());
        cam.dispose();
      }
      expectClose(maps[1], maps[0], TOL.camWasm, `Finer-CAM at ${layer}`);
    }
  });
});
