import { expect, test } from 'vitest';
import * as F from '../../index';

test('smoke', async () => {
  const x = F.tensor([[1, 2, 3], [4, 5, 6]], undefined, { requiresGrad: true });
  const w = F.tensor([[1, 0], [0, 1], [1, 1]], undefined, { requiresGrad: true });
  const y = F.matmul(x, w).relu().sum();
  y.backward();
  expect(await y.item()).toBe(1 + 2 + 3 + 3 + 4 + 5 + 6 + 6);
  expect(Array.from(await x.grad!.data())).toEqual([1, 1, 2, 1, 1, 2]);
  expect(Array.from(await w.grad!.data())).toEqual([5, 5, 7, 7, 9, 9]);
  const { values, indices } = F.max(x, 1);
  expect(Array.from(await values.data())).toEqual([3, 6]);
  expect(Array.from(await indices.data())).toEqual([2, 2]);
  const s = F.tensor([1, 2, 3], undefined, { requiresGrad: true });
  const v = s.var();
  expect(await v.item()).toBeCloseTo(1);
  const [g] = F.grad(v, [s]);
  expect(Array.from(await g!.data())).toEqual([-1, 0, 1]);
});
