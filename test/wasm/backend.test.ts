// The wasm backend as a device: selection through setDefaultDevice, moving tensors, bad input (tensors of two
// devices, disposed tensors, sizes past the wasm32 limit) and the float64/int32 scalar paths.
import { afterAll, describe, expect, test } from 'vitest';
import * as F from '../../index';
import { getBackend } from '../../core/device';
import { WasmBackend, WasmMemoryLimitError } from '../../kernels/wasm/index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

afterAll(async () => {
  await F.setDefaultDevice('cpu');
});

describe('wasm device', () => {
  test("setDefaultDevice('wasm') creates and selects it", async () => {
    expect(await F.setDefaultDevice('wasm')).toBe('wasm');
    const b = await getBackend('wasm');
    expect(b).toBeInstanceOf(WasmBackend);
    const t = F.ones([3, 4]);
    expect(t.device).toBe('wasm');
    expect(Array.from(await F.mul(t, 2).data())).toEqual(new Array(12).fill(2));
    expect((await F.getWasmStats())!.bytesInUse).toBeGreaterThan(0);
    await F.setDefaultDevice('cpu');
    expect(F.ones([1]).device).toBe('cpu');
  });

  test('tensors of two devices in one op: an error, not a wrong result', async () => {
    await F.setDefaultDevice('wasm');
    const a = F.ones([2, 2]);
    const c = await a.toDevice('cpu');
    expect(() => F.add(a, c)).toThrow(/device|wasm|cpu/);
    expect(() => F.matmul(c, a)).toThrow(/device|wasm|cpu/);
    await F.setDefaultDevice('cpu');
  });

  test('a disposed tensor: a named error', async () => {
    const a = await F.ones([2, 2]).toDevice('wasm');
    a.dispose();
    expect(() => F.add(a, 1)).toThrow(/dispos/i);
  });

  test('past the 4 GiB wasm32 limit: WasmMemoryLimitError, and the backend keeps working', async () => {
    await F.setDefaultDevice('wasm');
    expect(() => F.zeros([2 ** 31])).toThrow(WasmMemoryLimitError);
    expect(() => F.zeros([2 ** 31])).toThrow(/4 GiB/);
    expect(Array.from(await F.add(F.ones([3]), 1).data())).toEqual([2, 2, 2]);
    await F.setDefaultDevice('cpu');
  });

  test('float64 and int32 take the scalar paths and agree with the CPU backend', async () => {
    const rng = F.makeRng(3);
    const a64 = F.tensor(Float64Array.from({ length: 2 * 5 * 7 }, () => rng.normal()), [2, 5, 7], { dtype: 'float64' });
    const b64 = F.tensor(Float64Array.from({ length: 7 * 3 }, () => rng.normal()), [7, 3], { dtype: 'float64' });
    const x64 = F.tensor(Float64Array.from({ length: 2 * 4 * 6 * 6 }, () => rng.normal()), [2, 4, 6, 6], { dtype: 'float64' });
    const w64 = F.tensor(Float64Array.from({ length: 6 * 2 * 3 * 3 }, () => rng.normal()), [6, 2, 3, 3], { dtype: 'float64' });
    const run = (a: F.Tensor, b: F.Tensor, x: F.Tensor, w: F.Tensor) => {
      const xs = x.requiresGrad_();
      const ws = w.requiresGrad_();
      const y = F.conv2d(xs, ws, null, { stride: 2, padding: 1, groups: 2 });
      const [gx, gw] = F.grad(y.square().sum(), [xs, ws]);
      return [F.matmul(a, b), F.gelu(F.matmul(a, b)), y, gx!, gw!];
    };
    const want = run(a64, b64, x64.detach(), w64.detach());
    const got = run(await a64.toDevice('wasm'), await b64.toDevice('wasm'), await x64.detach().toDevice('wasm'), await w64.detach().toDevice('wasm'));
    for (let i = 0; i < want.length; i++) {
      expect(got[i].device).toBe('wasm');
      expect(got[i].dtype).toBe('float64');
      expectClose(await got[i].data(), await want[i].data(), TOL.coreF64, `float64 result ${i}`);
    }
    const i32 = F.tensor([3, -1, 7, 2], [2, 2], { dtype: 'int32' });
    const gotI = await F.add(await i32.toDevice('wasm'), await i32.toDevice('wasm')).data();
    expect(Array.from(gotI)).toEqual([6, -2, 14, 4]);
  });
});
