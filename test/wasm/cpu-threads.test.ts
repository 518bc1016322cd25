// setCpuThreads(n) is one setting for every CPU-side backend: it bounds the wasm backend's GEMM threads as
// well as the cpu backend's workers, whichever was created first.
import { afterAll, expect, it } from 'vitest';
import * as F from '../../index';

afterAll(async () => {
  F.setCpuThreads(2);
  await F.setDefaultDevice('cpu');
});

it('applies to the wasm backend, before and after it exists', async () => {
  F.setCpuThreads(1);
  expect(await F.setDefaultDevice('wasm')).toBe('wasm');
  const wasm = F.getDefaultBackend() as F.WasmBackend;
  await wasm.ready();
  expect(wasm.getThreads()).toBe(1);
  F.setCpuThreads(2);
  expect(wasm.getThreads()).toBe(2);
  expect(F.getCpuThreads()).toBeGreaterThanOrEqual(1);
  F.setCpuThreads(1);
  expect(wasm.getThreads()).toBe(1);
  expect(() => F.setCpuThreads(0)).toThrow(/setCpuThreads: n must be an integer ≥ 1, got 0/);
});
