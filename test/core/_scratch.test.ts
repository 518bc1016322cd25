import { test } from 'vitest';
import * as F from '../../index';

async function tryit(name: string, fn: () => unknown) {
  try { const r = await fn(); console.log(name, 'OK', r); } catch (e) { console.log(name, 'ERR', (e as Error).message); }
}

test('scratch', async () => {
  await tryit('contiguous grad', async () => {
    const x = F.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const y = x.contiguous().mul(2).sum();
    y.backward();
    return x.grad && Array.from(await x.grad.data());
  });
  await tryit('saved survive tidy', async () => {
    const x = F.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const loss = F.tidy(() => x.exp().mul(x).sum());
    loss.backward();
    return Array.from(await x.grad!.data());
  });
  await tryit('shared grad object', async () => {
    const a = F.tensor([1, 2], undefined, { requiresGrad: true });
    const b = F.tensor([3, 4], undefined, { requiresGrad: true });
    a.add(b).sum().backward();
    a.add(b).sum().backward();
    return [Array.from(await a.grad!.data()), Array.from(await b.grad!.data())];
  });
  await tryit('clamp lo>hi', async () => Array.from(await F.clamp(F.tensor([0, 5, 10]), 6, 4).data()));
  await tryit('pow 0^0 grad', async () => {
    const a = F.tensor([0, 2], undefined, { requiresGrad: true });
    const b = F.tensor([0, 0], undefined, { requiresGrad: true });
    F.pow(a, b).sum().backward();
    return [Array.from(await a.grad!.data()), Array.from(await b.grad!.data())];
  });
});
