// The wasm max-pool's four-outputs-at-once path (horizontal stride 2, dilation 1, windows inside the input:
// kernels/wasm/conv-kernel.ts) against the CPU backend, exactly: values and indices, on rows wide enough
// for it to run (and its scalar edges), with ties, NaN, ±∞, odd kernels and paddings, ceil mode.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as F from '../../index';

beforeAll(async () => {
  await F.setDefaultDevice('wasm');
  await F.setDefaultDevice('cpu');
});
afterAll(async () => {
  await F.setDefaultDevice('cpu');
});

describe('wasm maxPool2d, stride-2 SIMD path', () => {
  test('random geometries with ties and NaN equal the CPU exactly', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({
        N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 10, max: 41 }),
        kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }), sh: fc.integer({ min: 1, max: 2 }),
        ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }), ceil: fc.boolean(), nans: fc.integer({ min: 0, max: 3 }), seed: fc.integer({ min: 0, max: 999 }),
      }).filter((g) => 2 * g.ph <= g.kh && 2 * g.pw <= g.kw && g.kh <= g.H + 2 * g.ph),
      async (g) => {
        F.manualSeed(g.seed);
        const data = (await F.round(F.mul(F.randn([g.N, g.C, g.H, g.W]), 1.5)).data()) as Float32Array; // many ties
        for (let k = 0; k < g.nans; k++) data[(g.seed * 7 + k * 131) % data.length] = NaN;
        data[(g.seed * 3) % data.length] = Infinity;
        data[(g.seed * 5 + 1) % data.length] = -Infinity;
        const x = F.tensor(data, [g.N, g.C, g.H, g.W]);
        const xw = await x.toDevice('wasm');
        const o: F.MaxPool2dOptions = { kernelSize: [g.kh, g.kw], stride: [g.sh, 2], padding: [g.ph, g.pw], ceilMode: g.ceil };
        const { values: vc, indices: ic } = F.maxPool2d(x, { ...o, returnIndices: true });
        const { values: vw, indices: iw } = F.maxPool2d(xw, { ...o, returnIndices: true });
        expect(Array.from(await vw.data()).map(String)).toEqual(Array.from(await vc.data()).map(String));
        expect(Array.from(await iw.data())).toEqual(Array.from(await ic.data()));
      }), { numRuns: 60, seed: 31 });
  });

  test("ResNet's stem pool (3×3/2, padding 1) on 64×112×112", async () => {
    F.manualSeed(9);
    const x = F.round(F.mul(F.randn([1, 64, 112, 112]), 3));
    const xw = await x.toDevice('wasm');
    const o: F.MaxPool2dOptions = { kernelSize: 3, stride: 2, padding: 1 };
    const { values: vc, indices: ic } = F.maxPool2d(x, { ...o, returnIndices: true });
    const { values: vw, indices: iw } = F.maxPool2d(xw, { ...o, returnIndices: true });
    expect(Buffer.from((await vw.data()).buffer).equals(Buffer.from((await vc.data()).buffer))).toBe(true);
    expect(Array.from(await iw.data())).toEqual(Array.from(await ic.data()));
  });
});
