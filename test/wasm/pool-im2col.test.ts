// The wasm backend's data-movement kernels (kernels/wasm/conv-kernel.ts) are copies and comparisons, so they
// must equal the CPU backend exactly: max-pool values and indices (ties, NaN, ceil mode, dilation, padding,
// windows that miss the input) and convolutions whose im2col takes each geometry path (stride 1 with padding
// on either side, strides > 1, dilation), forward and input gradient (col2im), against the CPU within
// TOL.crossBackend (their GEMMs sum in another order).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

beforeAll(async () => {
  await F.setDefaultDevice('wasm');
  await F.setDefaultDevice('cpu');
});
afterAll(async () => {
  await F.setDefaultDevice('cpu');
});

describe('wasm pooling and im2col', () => {
  test('maxPool2d: values and indices equal the CPU exactly', async () => {
    F.manualSeed(2);
    const data = (await F.round(F.mul(F.randn([2, 3, 11, 9]), 2)).data()) as Float32Array; // many ties
    data[5] = NaN;
    data[100] = NaN;
    data[101] = Infinity;
    data[150] = -Infinity;
    const x = F.tensor(data, [2, 3, 11, 9]);
    const xw = await x.toDevice('wasm');
    const cases: F.MaxPool2dOptions[] = [
      { kernelSize: 3, stride: 2, padding: 1 },
      { kernelSize: 2 },
      { kernelSize: [3, 2], stride: [2, 3], padding: [1, 1], ceilMode: true },
      { kernelSize: 3, stride: 1, padding: 1, dilation: 2 },
      { kernelSize: 3, stride: 3, padding: 1, ceilMode: true },
    ];
    for (const o of cases) {
      const { values: vc, indices: ic } = F.maxPool2d(x, { ...o, returnIndices: true });
      const { values: vw, indices: iw } = F.maxPool2d(xw, { ...o, returnIndices: true });
      expect(Array.from(await vw.data()).map(String)).toEqual(Array.from(await vc.data()).map(String));
      expect(Array.from(await iw.data())).toEqual(Array.from(await ic.data()));
    }
  });

  test('conv2d through the wasm im2col / col2im: every geometry path', async () => {
    F.manualSeed(4);
    const geoms = [
      { k: 3, stride: 1, padding: 1, dilation: 1 },
      { k: 3, stride: 1, padding: 2, dilation: 2 },
      { k: 5, stride: 1, padding: 0, dilation: 1 },
      { k: 3, stride: 2, padding: 1, dilation: 1 },
      { k: 7, stride: 2, padding: 3, dilation: 1 },
      { k: 1, stride: 2, padding: 0, dilation: 1 },
      { k: 2, stride: [1, 3] as [number, number], padding: [1, 0] as [number, number], dilation: 1 },
    ];
    for (const g of geoms) {
      const x = F.randn([2, 4, 13, 10]);
      const w = F.randn([6, 4, g.k, g.k]);
      const r = F.randn(F.conv2d(x, w, null, { stride: g.stride, padding: g.padding, dilation: g.dilation }).shape);
      const run = async (dev: 'cpu' | 'wasm') => {
        const xi = (await x.toDevice(dev)).requiresGrad_();
        const wi = (await w.toDevice(dev)).requiresGrad_();
        const y = F.conv2d(xi, wi, null, { stride: g.stride, padding: g.padding, dilation: g.dilation });
        // a fixed random probe as the output gradient keeps every sum well conditioned
        const [gx, gw] = F.grad(F.mul(y, await r.toDevice(dev)).sum(), [xi, wi]);
        return [await y.data(), await gx!.data(), await gw!.data()];
      };
      const want = await run('cpu');
      const got = await run('wasm');
      got.forEach((v, i) => expectClose(v, want[i], TOL.crossBackend, `${JSON.stringify(g)} output ${i}`));
    }
  });
});
