// WebGPU kernel benchmarks: matmul, convolutions, softmax / layerNorm rows, a pure-FMA ceiling, dispatch
// overhead and readback latency, side by side with @tensorflow/tfjs-backend-webgpu when it is installed.
//
// Run: node bench/webgpu.mjs [--quick]   (bundles this file with esbuild, then runs it)
// GPU times come from timestamp queries (Dawn's timestamp quantization disabled) when the adapter has them;
// wall times include submit and waiting for completion. GFLOP/s = 2·MACs / time. Each figure is the median of
// the timed repetitions after one warm-up run (which also compiles the pipelines). On a software adapter the
// "GPU" is this process's own threads, so GFLOP per CPU-second is also printed: it stays meaningful when the
// machine is shared (multiply by the cores SwiftShader gets — 2 here — for an unloaded GFLOP/s estimate).
import type { Storage, View } from '../core/backend';
import { contiguousStrides } from '../core/shape';
import { createWebGPUBackend } from '../kernels/webgpu/webgpu-backend';
import type { WebGPUBackend } from '../kernels/webgpu/webgpu-backend';
import { defineKernel, type Kernel } from '../kernels/webgpu/runtime/kernel';
import type { GpuStorage } from '../kernels/webgpu/runtime/storage';
import { UniformLayout } from '../kernels/webgpu/runtime/uniforms';
import { matmul as matmulKernel, setMatmulStrategy } from '../kernels/webgpu/matmul';
import { dispatchFma, fmaFlops } from './workbench/ceiling';
import { setConvStrategy } from '../kernels/webgpu/conv';

const quick = process.argv.includes('--quick');
const REPS = quick ? 2 : 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function view(storage: Storage, shape: number[]): View {
  return { storage, shape, strides: contiguousStrides(shape), offset: 0, dtype: 'float32' };
}

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

interface Timing {
  gpuMs: number | null;
  wallMs: number;
  firstMs: number;
  /** Process CPU milliseconds (SwiftShader runs on this process's threads): a load-independent measure. */
  cpuMs: number;
}

/** Times `run` (which enqueues kernels and returns the storages to release). */
async function time(gpu: WebGPUBackend, run: () => Storage[]): Promise<Timing> {
  const t0 = performance.now();
  for (const s of run()) gpu.release(s);
  await gpu.sync();
  const firstMs = performance.now() - t0;
  const gpuTimes: number[] = [];
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    for (const s of run()) gpu.release(s);
    await gpu.sync();
    wall.push(performance.now() - w0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    const ms = await gpu.gpuTime(() => {
      for (const s of run()) gpu.release(s);
    });
    if (ms !== null) gpuTimes.push(ms);
  }
  return { gpuMs: gpuTimes.length ? median(gpuTimes) : null, wallMs: median(wall), firstMs, cpuMs: median(cpu) };
}

const rows: string[][] = [];
function row(...cells: (string | number)[]): void {
  rows.push(cells.map(String));
  console.log(cells.join(' | '));
}
const f = (x: number | null, d = 2): string => (x === null ? '–' : x.toFixed(d));

// ---------------------------------------------------------------------------------------------------------
// tfjs-webgpu column (optional: the package is not a dependency)

interface Tfjs {
  matmul(n: number): Promise<number>;
  conv(x: number[], w: number[], stride: number, pad: 'same' | 'valid' | number): Promise<number>;
  softmax(r: number, c: number): Promise<number>;
}

async function loadTfjs(gpuObj: GPU | undefined): Promise<Tfjs | string> {
  try {
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (gpuObj && !g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { gpu: gpuObj }, configurable: true });
    const coreName = '@tensorflow/tfjs-core';
    const wgName = '@tensorflow/tfjs-backend-webgpu';
    const tf = (await import(/* @vite-ignore */ coreName)) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    await import(/* @vite-ignore */ wgName);
    if (!(await tf.setBackend('webgpu'))) return 'webgpu backend did not initialise';
    await tf.ready();
    const timeIt = async (make: () => any): Promise<number> => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const warm = make();
      await warm.data();
      warm.dispose();
      const ts: number[] = [];
      for (let r = 0; r < REPS; r++) {
        const t0 = performance.now();
        const y = make();
        await y.data();
        ts.push(performance.now() - t0);
        y.dispose();
      }
      return median(ts);
    };
    return {
      async matmul(n) {
        const a = tf.randomUniform([n, n]);
        const b = tf.randomUniform([n, n]);
        const ms = await timeIt(() => tf.matMul(a, b));
        a.dispose();
        b.dispose();
        return ms;
      },
      async conv(xs, ws, stride, pad) {
        const x = tf.randomUniform(xs);
        const w = tf.randomUniform(ws);
        const ms = await timeIt(() => tf.conv2d(x, w, stride, pad));
        x.dispose();
        w.dispose();
        return ms;
      },
      async softmax(r, c) {
        const x = tf.randomUniform([r, c]);
        const ms = await timeIt(() => tf.softmax(x));
        x.dispose();
        return ms;
      },
    };
  } catch {
    return 'not installed';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reference kernels that are not part of the backend

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const gpu = await createWebGPUBackend({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
  if (!gpu) {
    console.log('No WebGPU adapter: nothing to benchmark.');
    return;
  }
  const info = gpu.info;
  console.log(`adapter: ${info.vendor} / ${info.architecture} / ${info.description} (fallback: ${info.isFallbackAdapter}); features: ${info.features.join(', ')}`);
  console.log(`timing: ${gpu.rt.ctx.hasTimestamps ? 'timestamp queries + wall clock' : 'wall clock only'}; reps ${REPS} (median)\n`);
  const tf = await loadTfjs(gpu.rt.ctx.gpu);
  const tfNote = typeof tf === 'string' ? tf : null;

  console.log('## Ceiling, overhead, readback');
  // FMA ceiling
  {
    const threads = 65536;
    const iters = 256;
    const out = gpu.alloc('float32', threads * 4, 'bench');
    const run = (): Storage[] => {
      dispatchFma(gpu, out.buffer, iters);
      return [];
    };
    const t = await time(gpu, run);
    const flops = fmaFlops(iters);
    row('pure vec4 FMA ceiling', `${f(flops / 1e6 / (t.gpuMs ?? t.wallMs))} GFLOP/s`, `gpu ${f(t.gpuMs)} ms`, `wall ${f(t.wallMs)} ms`, `${f(flops / 1e6 / t.cpuMs)} GFLOP/CPU-s`);
    gpu.release(out);
  }
  // dispatch overhead
  {
    const x = gpu.upload(new Float32Array([1, 2, 3, 4]));
    const xv = view(x, [4]);
    const once = gpu.binaryScalar('add', xv, 1, false);
    gpu.release(once);
    await gpu.sync();
    const n = 1000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) gpu.release(gpu.binaryScalar('add', xv, 1, false));
    const t1 = performance.now();
    await gpu.sync();
    const t2 = performance.now();
    row('dispatch overhead (1000 tiny kernels)', `${f(((t2 - t0) / n) * 1000, 1)} µs per kernel`, `JS enqueue ${f(((t1 - t0) / n) * 1000, 1)} µs`);
    gpu.release(x);
  }
  // readback latency
  for (const n of [1, 1 << 20]) {
    const s = gpu.upload(rand(n));
    await gpu.read(view(s, [n]));
    const ts: number[] = [];
    for (let r = 0; r < REPS * 2; r++) {
      const t0 = performance.now();
      await gpu.read(view(s, [n]));
      ts.push(performance.now() - t0);
    }
    row(`readback ${n * 4} bytes`, `${f(median(ts), 3)} ms`);
    gpu.release(s);
  }

  console.log('\n## Elementwise');
  {
    const n = 1 << 22;
    const a = gpu.upload(rand(n));
    const b = gpu.upload(rand(n));
    const t = await time(gpu, () => [gpu.binary('add', view(a, [n]), view(b, [n]))]);
    row('add 4M float32 (contiguous, vec4)', `${f((n * 12) / 1e6 / (t.gpuMs ?? t.wallMs))} GB/s`, `gpu ${f(t.gpuMs, 1)} ms`, `wall ${f(t.wallMs, 1)} ms`);
    const side = 2048;
    const tt = await time(gpu, () => [gpu.unary('copy', { storage: a, shape: [side, side], strides: [1, side], offset: 0, dtype: 'float32' })]);
    row('transpose copy 2048×2048 (strided gather)', `${f((n * 8) / 1e6 / (tt.gpuMs ?? tt.wallMs))} GB/s`, `gpu ${f(tt.gpuMs, 1)} ms`);
    const tg = await time(gpu, () => [gpu.unary('gelu', view(a, [n]))]);
    row('gelu 4M float32', `${f((n * 8) / 1e6 / (tg.gpuMs ?? tg.wallMs))} GB/s`, `gpu ${f(tg.gpuMs, 1)} ms`);
    gpu.release(a);
    gpu.release(b);
  }

  console.log('\n## Matmul (C = A·B, square, float32)');
  for (const n of quick ? [256, 512] : [256, 512, 1024]) {
    const a = gpu.upload(rand(n * n));
    const b = gpu.upload(rand(n * n));
    const va = view(a, [1, n, n]);
    const vb = view(b, [1, n, n]);
    const flops = 2 * n ** 3;
    const t = await time(gpu, () => [gpu.matmul(va, vb)]);
    const tt = n <= 512 ? await time(gpu, () => [matmulKernel(gpu, va, { ...vb, strides: [n * n, 1, n] })]) : null;
    let tfMs: number | string = tfNote ?? '';
    if (typeof tf !== 'string') tfMs = await tf.matmul(n);
    const ours = flops / 1e6 / (t.gpuMs ?? t.wallMs);
    row(`matmul ${n}`, `${f(ours)} GFLOP/s`, `gpu ${f(t.gpuMs, 1)} ms`, `wall ${f(t.wallMs, 1)} ms`, `${f(flops / 1e6 / t.cpuMs)} GFLOP/CPU-s`, `first ${f(t.firstMs, 0)} ms`,
      tt ? `B transposed ${f(flops / 1e6 / (tt.gpuMs ?? tt.wallMs))} GFLOP/s` : '',
      `tfjs-webgpu: ${typeof tfMs === 'number' ? `${f(flops / 1e6 / tfMs)} GFLOP/s` : tfMs}`);
    if (n <= 512 && !quick) {
      setMatmulStrategy('tiled');
      const tl = await time(gpu, () => [gpu.matmul(va, vb)]);
      setMatmulStrategy(null);
      row(`  workgroup-memory tiled 64×64×16 (the hardware-GPU kernel, forced)`, `${f(flops / 1e6 / (tl.gpuMs ?? tl.wallMs))} GFLOP/s`, `first (compile) ${f(tl.firstMs, 0)} ms`);
    }
    gpu.release(a);
    gpu.release(b);
  }

  console.log('\n## Convolutions (NCHW, float32)');
  const convs: [string, number[], number[], number, number][] = [
    ['ResNet-50 3×3 conv 1×64×56×56 → 64', [1, 64, 56, 56], [64, 64, 3, 3], 1, 1],
    ['ResNet stem 7×7/2 1×3×224×224 → 64', [1, 3, 224, 224], [64, 3, 7, 7], 2, 3],
    ['ResNet-50 layer4 3×3 conv 1×512×7×7 → 512', [1, 512, 7, 7], [512, 512, 3, 3], 1, 1],
    ['1×1 conv 1×256×56×56 → 64 (matmul path)', [1, 256, 56, 56], [64, 256, 1, 1], 1, 0],
  ];
  for (const [name, xs, ws, s, pad] of convs) {
    const x = gpu.upload(rand(xs.reduce((p, q) => p * q)));
    const w = gpu.upload(rand(ws.reduce((p, q) => p * q)));
    const p = { stride: [s, s] as [number, number], padding: [pad, pad] as [number, number], dilation: [1, 1] as [number, number], groups: 1 };
    const Ho = Math.floor((xs[2] + 2 * pad - ws[2]) / s) + 1;
    const Wo = Math.floor((xs[3] + 2 * pad - ws[3]) / s) + 1;
    const flops = 2 * ws[0] * ws[1] * ws[2] * ws[3] * Ho * Wo * xs[0];
    const t = await time(gpu, () => [gpu.conv2d(view(x, xs), view(w, ws), p)]);
    let tfMs: number | string = tfNote ?? '';
    if (typeof tf !== 'string') tfMs = await tf.conv([xs[0], xs[2], xs[3], xs[1]], [ws[2], ws[3], ws[1], ws[0]], s, pad === 0 ? 'valid' : pad === (ws[2] - 1) / 2 && s === 1 ? 'same' : pad);
    row(name, `${f(flops / 1e6 / (t.gpuMs ?? t.wallMs))} GFLOP/s`, `gpu ${f(t.gpuMs, 1)} ms`, `wall ${f(t.wallMs, 1)} ms`, `${f(flops / 1e6 / t.cpuMs)} GFLOP/CPU-s`, `first ${f(t.firstMs, 0)} ms`,
      `tfjs-webgpu: ${typeof tfMs === 'number' ? `${f(flops / 1e6 / tfMs)} GFLOP/s` : tfMs}`);
    if (!name.includes('matmul path')) {
      for (const strat of ['implicit', 'im2col'] as const) {
        setConvStrategy(strat);
        const ts = await time(gpu, () => [gpu.conv2d(view(x, xs), view(w, ws), p)]);
        row(`  forced ${strat}`, `${f(flops / 1e6 / (ts.gpuMs ?? ts.wallMs))} GFLOP/s`, `gpu ${f(ts.gpuMs, 1)} ms`, `${f(flops / 1e6 / ts.cpuMs)} GFLOP/CPU-s`);
      }
      setConvStrategy(null);
    }
    if (name.startsWith('ResNet-50')) {
      const gy = gpu.upload(rand(xs[0] * ws[0] * Ho * Wo));
      const tb = await time(gpu, () => [gpu.conv2dBackwardInput(view(gy, [xs[0], ws[0], Ho, Wo]), view(w, ws), p, xs)]);
      row('  backward-input (same conv)', `${f(flops / 1e6 / (tb.gpuMs ?? tb.wallMs))} GFLOP/s`, `gpu ${f(tb.gpuMs, 1)} ms`);
      const tw = await time(gpu, () => [gpu.conv2dBackwardWeight(view(x, xs), view(gy, [xs[0], ws[0], Ho, Wo]), p, ws)]);
      row('  backward-weight (same conv)', `${f(flops / 1e6 / (tw.gpuMs ?? tw.wallMs))} GFLOP/s`, `gpu ${f(tw.gpuMs, 1)} ms`);
      gpu.release(gy);
    }
    gpu.release(x);
    gpu.release(w);
  }

  console.log('\n## Row kernels');
  for (const [name, r, c] of [['softmax ViT-B attention 12×197 rows × 197', 12 * 197, 197], ['softmax 1×1000 logits', 1, 1000]] as [string, number, number][]) {
    const x = gpu.upload(rand(r * c));
    const t = await time(gpu, () => [gpu.softmax(view(x, [r, c]), false)]);
    let tfMs: number | string = tfNote ?? '';
    if (typeof tf !== 'string') tfMs = await tf.softmax(r, c);
    row(name, `gpu ${f(t.gpuMs, 3)} ms`, `wall ${f(t.wallMs, 3)} ms`, `${f((r * c * 8) / 1e6 / (t.gpuMs ?? t.wallMs), 2)} GB/s (read+write)`,
      `tfjs-webgpu: ${typeof tfMs === 'number' ? `${f(tfMs, 3)} ms (incl. readback)` : tfMs}`);
    gpu.release(x);
  }
  {
    const [r, c] = [197, 768];
    const x = gpu.upload(rand(r * c));
    const w = gpu.upload(rand(c));
    const b = gpu.upload(rand(c));
    const t = await time(gpu, () => {
      const o = gpu.layerNorm(view(x, [r, c]), view(w, [c]), view(b, [c]), 1e-6);
      return [o.y, o.mean, o.rstd];
    });
    row('layerNorm ViT-B 197 × 768', `gpu ${f(t.gpuMs, 3)} ms`, `wall ${f(t.wallMs, 3)} ms`, `${f((r * c * 8) / 1e6 / (t.gpuMs ?? t.wallMs), 2)} GB/s`);
    gpu.release(x);
    gpu.release(w);
    gpu.release(b);
  }
  console.log('\n', JSON.stringify(gpu.stats()));
  gpu.destroy();
}

await main();
process.exit(0);
