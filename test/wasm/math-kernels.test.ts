// The wasm backend's float32 transcendental kernels (kernels/wasm/math-kernel.ts: gelu through an f32x4 erf
// approximation, softmax through an f32x4 exp) against the CPU's double formulas: a dense sweep of gelu's
// input range and its special values, softmax rows with large spreads, −∞ entries, whole −∞ rows (NaN, as
// torch), NaN, and lengths that are not a multiple of four — within TOL.crossBackend as every wasm op.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

beforeAll(async () => {
  await F.setDefaultDevice('wasm'); // creates the backend
  await F.setDefaultDevice('cpu');
});
afterAll(async () => {
  await F.setDefaultDevice('cpu');
});

async function both(fn: (t: F.Tensor) => F.Tensor, data: Float32Array, shape: number[]): Promise<[Float32Array, Float32Array]> {
  const c = fn(F.tensor(data, shape).requiresGrad_());
  const w = fn(F.tensor(data, shape, { device: 'wasm' }).requiresGrad_());
  expect(w.device).toBe('wasm');
  return [(await w.data()) as Float32Array, (await c.data()) as Float32Array];
}

describe('wasm transcendental kernels', () => {
  test('gelu over [−12, 12] and at ±0, ±∞, NaN', async () => {
    const n = 24001;
    const xs = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
    const [got, want] = await both((t) => F.gelu(t).detach(), xs, [n]);
    expectClose(got, want, TOL.crossBackend, 'gelu sweep');
    // gelu'(x) (unary op geluGrad, what gelu's backward multiplies by)
    const [gg, wg] = await both((t) => F.grad(F.gelu(t).sum(), [t])[0]!, xs, [n]);
    expectClose(gg, wg, TOL.crossBackend, 'gelu gradient sweep');
    const special = new Float32Array([0, -0, Infinity, -Infinity, NaN, 3.4e38, -3.4e38]);
    const [g2, w2] = await both((t) => F.gelu(t).detach(), special, [special.length]);
    expect(Array.from(g2).map(String)).toEqual(Array.from(w2).map(String));
  });

  test('softmax rows: spreads, −∞ entries, a −∞ row, NaN, odd lengths', async () => {
    F.manualSeed(5);
    for (const cols of [1, 3, 4, 7, 257, 1000]) {
      const rows = 6;
      const d = (await F.mul(F.randn([rows, cols]), 20).data()) as Float32Array;
      d[1 * cols] = -Infinity; // one masked entry
      for (let c = 0; c < cols; c++) d[2 * cols + c] = -Infinity; // a fully masked row → NaN
      d[3 * cols + (cols - 1)] = NaN;
      for (let c = 0; c < cols; c++) d[4 * cols + c] = 80 + c * 1e-3; // large values: the max shift
      const [got, want] = await both((t) => F.softmax(t, 1).detach(), d, [rows, cols]);
      expectClose(got, want, TOL.crossBackend, `softmax ${rows}×${cols}`);
      for (let c = 0; c < cols; c++) expect(Number.isNaN(got[2 * cols + c])).toBe(Number.isNaN(want[2 * cols + c]));
    }
  });
});
