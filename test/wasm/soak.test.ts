// Soak: 1,000 forward+backward passes of a small ResNet on the wasm backend, each inside tidy(), leave the
// heap's bytes in use where they started — nothing leaks from ops, their gradient rules, the graph or the
// kernels' scratch blocks — and the memory does not keep growing.
import { expect, test } from 'vitest';
import * as F from '../../index';
import { registerBackend } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/backend';

const backend = new WasmBackend();
registerBackend(backend);

test('1,000 forward+backward passes keep wasm bytes in use constant', async () => {
  F.manualSeed(7);
  const model = F.resnet({ block: 'basic', layers: [1, 1, 1, 1], widths: [4, 4, 8, 8], numClasses: 5 });
  await model.to('wasm');
  model.eval();
  const x = F.keep(await F.randn([1, 3, 16, 16]).toDevice('wasm'));
  const target = F.keep(F.tensor([2], [1], { dtype: 'int32', device: 'wasm' }));
  const step = () => F.tidy(() => {
    const logits = model.forward(x);
    const loss = F.crossEntropy(logits, target);
    return F.grad(loss, model.parameters()).length;
  });
  step(); // warm-up
  const before = backend.stats();
  for (let i = 0; i < 1000; i++) step();
  const after = backend.stats();
  expect(after.bytesInUse).toBe(before.bytesInUse);
  expect(after.blocksInUse).toBe(before.blocksInUse);
  expect(after.memoryBytes).toBe(before.memoryBytes);
}, 300_000);
