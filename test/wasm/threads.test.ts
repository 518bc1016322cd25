// Threaded products equal single-threaded ones bit for bit: the same GEMMs and convolutions on a wasm backend
// with one worker (2 threads) and on one with none, column slices and row slices, with epilogues and the
// weight gradient's accumulation over the batch.
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, Conv2dParams, Storage, View } from '../../core/backend';
import { WasmBackend } from '../../kernels/wasm/backend';
import { contiguousStrides } from '../../core/shape';
import { randomData } from '../webgpu/helpers';

const one = new WasmBackend({ threads: 1 });
const two = new WasmBackend({ threads: 2 });
afterAll(() => two.destroy());

const view = (s: Storage, shape: number[]): View => ({ storage: s, shape, strides: contiguousStrides(shape), offset: 0, dtype: 'float32' });
const read = (b: Backend, s: Storage, shape: number[]) => b.read(view(s, shape));

describe('wasm threads', () => {
  it('the worker starts and takes slices', async () => {
    await two.ready();
    expect(two.getThreads()).toBe(2);
    expect(one.getThreads()).toBe(1);
  });

  it.each([
    ['column slices, bias + relu', 150, 300, 500, true],
    ['row slices (narrow C), bias by column', 700, 400, 12, true],
    ['odd sizes, no epilogue', 97, 263, 131, false],
  ] as const)('matmul: %s', async (_name, M, K, N, epi) => {
    await two.ready();
    const before = two.parallelProducts;
    const run = async (b: WasmBackend) => {
      const a = b.upload(randomData(M * K, 1));
      const w = b.upload(randomData(K * N, 2));
      const bias = b.upload(randomData(N, 3));
      const out = b.matmul(view(a, [1, M, K]), view(w, [1, K, N]), epi ? { bias: view(bias, [N]), activation: 'relu' } : undefined);
      return read(b, out, [1, M, N]);
    };
    const [x1, x2] = [await run(one), await run(two)];
    expect(two.parallelProducts).toBe(before + 1);
    expect(Buffer.from(x2.buffer).equals(Buffer.from(x1.buffer))).toBe(true);
  });

  it('conv2d forward, input and weight gradients (batch 2: the weight gradient accumulates in the kernel)', async () => {
    await two.ready();
    const p: Conv2dParams = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
    const [N, C, H, W, O] = [2, 32, 20, 20, 48];
    const before = two.parallelProducts;
    const run = async (b: WasmBackend) => {
      const x = view(b.upload(randomData(N * C * H * W, 4)), [N, C, H, W]);
      const w = view(b.upload(randomData(O * C * 9, 5)), [O, C, 3, 3]);
      const gy = view(b.upload(randomData(N * O * H * W, 6)), [N, O, H, W]);
      return Promise.all([
        read(b, b.conv2d(x, w, p), [N, O, H, W]),
        read(b, b.conv2dBackwardInput(gy, w, p, [N, C, H, W]), [N, C, H, W]),
        read(b, b.conv2dBackwardWeight(x, gy, p, [O, C, 3, 3]), [O, C, 3, 3]),
      ]);
    };
    const r1 = await run(one), r2 = await run(two);
    expect(two.parallelProducts).toBeGreaterThan(before);
    r1.forEach((a, i) => expect(Buffer.from(r2[i].buffer).equals(Buffer.from(a.buffer)), `result ${i}`).toBe(true));
  });

  it('elementwise kernels and max-pool split over threads: the same bits, and really split', async () => {
    await two.ready();
    const n = 3 * 256 * 1024 + 13; // several POINTWISE_UNIT ranges and a tail
    const run = (b: WasmBackend) => {
      const x = view(b.upload(randomData(n, 5)), [n]);
      const y = view(b.upload(randomData(n, 6)), [n]);
      const outs = [b.binary('add', x, y), b.unary('relu', x), b.unary('gelu', x), b.binaryScalar('mul', x, 0.5, false)];
      const pool = b.maxPool2d(view(b.upload(randomData(64 * 112 * 112, 7)), [1, 64, 112, 112]), { kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], ceilMode: false });
      return Promise.all([...outs.map((s) => read(b, s, [n])), read(b, pool.values, [1, 64, 56, 56])]);
    };
    const calls: number[] = [];
    const pool = (two as unknown as { pool: { run: (...a: unknown[]) => void } }).pool;
    const orig = pool.run.bind(pool);
    pool.run = (...a: unknown[]) => {
      calls.push((a[0] as unknown[]).length);
      orig(...a);
    };
    const [r1, r2] = [await run(one), await run(two)];
    pool.run = orig;
    expect(calls.length).toBeGreaterThanOrEqual(5);
    r1.forEach((a, i) => expect(Buffer.from(r2[i].buffer).equals(Buffer.from(a.buffer)), `result ${i}`).toBe(true));
  });
});
