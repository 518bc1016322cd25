// Both shapes of GPU kernel agree with the CPU reference: the register-blocked matmul / implicit-GEMM conv
// (chosen on CPU-like adapters) and the workgroup-memory tiled matmul / im2col + tiled conv (chosen on
// hardware GPUs). Each strategy is forced here, whatever the adapter, on random shapes (odd sizes, edges
// that are not multiples of the 64×64 tile, transposed operands, batches, bias + activation epilogues),
// forward and backward. Tolerance: TOL.crossBackend.
import fc from 'fast-check';
import { afterAll, expect, test, vi } from 'vitest';
import * as F from '../../index';
import { registerBackend } from '../../core/device';
import { setConvStrategy, type ConvStrategy } from '../../kernels/webgpu/conv';
import { setMatmulStrategy, type MatmulStrategy } from '../../kernels/webgpu/matmul';
import { expectClose } from '../helpers/compare';
import { TOL } from '../tolerances';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';

useGpuTeardown();
if (gpu) registerBackend(gpu);
afterAll(() => {
  setMatmulStrategy(null);
  setConvStrategy(null);
});

type Dev = 'cpu' | 'webgpu';

function randn(n: number, seed: number): Float32Array {
  const rng = F.makeRng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Forward value and gradients w.r.t. every input of fn, on one device. */
async function evalOn(device: Dev, shapes: number[][], seed: number, fn: (xs: F.Tensor[]) => F.Tensor) {
  const xs = shapes.map((s, i) => F.tensor(randn(s.reduce((a, b) => a * b, 1), seed + i), s, { device }).requiresGrad_());
  const y = fn(xs);
  const gy = F.tensor(randn(y.size, seed + 99), y.shape, { device });
  const grads = F.grad(y, xs, { gradOutputs: [gy] });
  return { y: (await y.data()) as Float32Array, grads: await Promise.all(grads.map(async (g) => (await g!.data()) as Float32Array)) };
}

async function agree(name: string, shapes: number[][], seed: number, fn: (xs: F.Tensor[]) => F.Tensor): Promise<void> {
  const cpu = await evalOn('cpu', shapes, seed, fn);
  const gpuR = await evalOn('webgpu', shapes, seed, fn);
  expectClose(gpuR.y, cpu.y, TOL.crossBackend, `${name} forward`);
  cpu.grads.forEach((g, i) => expectClose(gpuR.grads[i], g, TOL.crossBackend, `${name} d/d input ${i}`));
}

const ACTS = ['none', 'relu', 'gelu'] as const;
const act = (x: F.Tensor, a: (typeof ACTS)[number]): F.Tensor => (a === 'relu' ? F.relu(x) : a === 'gelu' ? F.gelu(x) : x);

const MATMUL: MatmulStrategy[] = ['registers', 'tiled'];
const CONV: ConvStrategy[] = ['implicit', 'im2col'];

describeGpu('kernel strategies agree with the CPU backend', () => {
  for (const ms of MATMUL) {
    test(`matmul: ${ms} (batched, transposed operands, tile edges, bias + activation)`, async () => {
      setMatmulStrategy(ms);
      let seed = 1;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }),
          fc.boolean(), fc.boolean(), fc.constantFrom(...ACTS),
          async (b, m, k, n, ta, tb, a) => {
            seed += 10;
            await agree(`matmul ${b}×${m}×${k}×${n} ta=${ta} tb=${tb} ${a}`, [[b, ta ? k : m, ta ? m : k], [b, tb ? n : k, tb ? k : n], [n]], seed, ([x, y, bias]) => {
              const lhs = ta ? F.transpose(x, 1, 2) : x;
              const rhs = tb ? F.transpose(y, 1, 2) : y;
              return act(F.add(F.matmul(lhs, rhs), bias), a);
            });
          },
        ),
        { numRuns: 6, seed: 7 },
      );
    });
  }

  for (const ms of MATMUL) {
    for (const cs of CONV) {
      test(`conv2d: ${cs} with ${ms} matmul (stride, padding, dilation, groups, bias)`, async () => {
        setMatmulStrategy(ms);
        setConvStrategy(cs);
        let seed = 500;
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }),
            fc.integer({ min: 4, max: 11 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 2 }),
            fc.integer({ min: 1, max: 2 }), fc.constantFrom(...ACTS),
            async (n, groups, cg, og, hw, k, stride, pad, dil, a) => {
              seed += 10;
              const c = groups * cg;
              const o = groups * og * 2;
              if ((hw + 2 * pad - dil * (k - 1) - 1) < 0) return; // empty output: not this test's subject
              await agree(`conv ${n}×${c}×${hw}² k${k} s${stride} p${pad} d${dil} g${groups} ${a}`, [[n, c, hw, hw + 1], [o, cg, k, k], [o]], seed, ([x, w, bias]) =>
                act(F.conv2d(x, w, bias, { stride, padding: pad, dilation: dil, groups }), a),
              );
            },
          ),
          { numRuns: 5, seed: 11 },
        );
      });
    }
  }

  test('the strategies really differ: each dispatches its own kernel', async () => {
    const keys: string[] = [];
    const rt = gpu!.rt;
    const original = rt.run.bind(rt);
    const spy = vi.spyOn(rt, 'run').mockImplementation((...args) => {
      keys.push(args[0].key);
      original(...args);
    });
    const a = F.ones([1, 5, 7], { device: 'webgpu' });
    const b = F.ones([1, 7, 3], { device: 'webgpu' });
    try {
      for (const ms of MATMUL) {
        setMatmulStrategy(ms);
        keys.length = 0;
        const y = await F.matmul(a, b).data();
        expect([...y]).toEqual(new Array(15).fill(7));
        expect(keys.filter((k) => k.startsWith('matmul')).map((k) => k.split('|')[0])).toEqual([ms === 'tiled' ? 'matmul_tiled' : 'matmul']);
      }
    } finally {
      spy.mockRestore();
    }
  });
});
