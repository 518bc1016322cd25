// tfjs-webgpu on the same adapter, as the peer column of the workbench. The packages are devDependencies:
// when they are not installed the column says so and everything else still runs.
import type { Problem } from './cases';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Tf = any;

export interface TfjsPeer {
  /** Times the problem with `policy`; null when tfjs has no equivalent op (e.g. layerNorm). */
  time(p: Problem, policy: 'gpu' | 'wall', reps: number): Promise<number | null>;
  /** Whether tf.time() reports kernel times from GPU timestamp queries here. */
  hasKernelTimes: boolean;
}

async function importByName(name: string): Promise<any> {
  return import(/* @vite-ignore */ name);
}

/** Loads tfjs-webgpu on `gpu` (the same GPU object our backend uses), or returns why it cannot. */
export async function loadTfjs(gpu: GPU | undefined): Promise<TfjsPeer | string> {
  let tf: Tf;
  try {
    const g = globalThis as { navigator?: { gpu?: GPU } };
    if (gpu && !g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    tf = await importByName('@tensorflow/tfjs-core');
    await importByName('@tensorflow/tfjs-backend-webgpu');
  } catch {
    return 'not installed (npm i -D @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu)';
  }
  try {
    if (!(await tf.setBackend('webgpu'))) return 'tfjs webgpu backend did not initialise';
    await tf.ready();
  } catch (e) {
    return `tfjs webgpu backend failed: ${(e as Error).message}`;
  }
  const probe = await tf.time(() => tf.matMul(tf.ones([8, 8]), tf.ones([8, 8])));
  const hasKernelTimes = typeof probe.kernelMs === 'number' && probe.kernelMs > 0;

  const make = (p: Problem): { run: () => Tf; inputs: Tf[] } | null => {
    const s = p.operands.map((o) => o.shape);
    switch (p.op) {
      case 'matmul': {
        const a = tf.randomUniform(s[0]);
        const b = tf.randomUniform(s[1]);
        return { run: () => tf.matMul(a, b), inputs: [a, b] };
      }
      case 'conv2d': {
        // tfjs is NHWC / HWIO: the same arithmetic on transposed layouts
        const [n, c, h, w] = s[0];
        const [o, cg, kh, kw] = s[1];
        const x = tf.randomUniform([n, h, w, c]);
        const f = tf.randomUniform([kh, kw, cg, o]);
        const conv = p.args.conv as { stride: number[]; padding: number[] };
        const pad = conv.padding[0] === (kh - 1) / 2 && conv.stride[0] === 1 ? 'same' : conv.padding[0] === 0 ? 'valid' : conv.padding[0];
        return { run: () => tf.conv2d(x, f, conv.stride[0], pad), inputs: [x, f] };
      }
      case 'softmax': {
        const x = tf.randomUniform(s[0]);
        return { run: () => (p.args.log ? tf.logSoftmax(x) : tf.softmax(x)), inputs: [x] };
      }
      default:
        return null;
    }
  };

  return {
    hasKernelTimes,
    async time(p, policy, reps) {
      const m = make(p);
      if (!m) return null;
      try {
        const warm = m.run();
        await warm.data();
        warm.dispose();
        const times: number[] = [];
        for (let r = 0; r < reps; r++) {
          if (policy === 'gpu') {
            const t = await tf.time(() => m.run());
            times.push(t.kernelMs);
          } else {
            const t0 = performance.now();
            const y = m.run();
            await y.data();
            times.push(performance.now() - t0);
            y.dispose();
          }
        }
        return Math.min(...times);
      } finally {
        for (const t of m.inputs) t.dispose();
      }
    },
  };
}
