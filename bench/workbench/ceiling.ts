// The adapter's arithmetic ceiling: a kernel that does nothing but independent vec4 FMA chains (no memory
// traffic beyond one store per invocation). Kernel GFLOP/s are reported as a share of this number.
import type { WebGPUBackend } from '../../kernels/webgpu/webgpu-backend';
import { defineKernel } from '../../kernels/webgpu/runtime/kernel';
import { UniformLayout } from '../../kernels/webgpu/runtime/uniforms';

const PARAMS = new UniformLayout([['iters', 'u32']]);
const CHAINS = 4;
const THREADS = 65536;

export const fmaKernel = defineKernel('bench_fma', () => ({
  workgroupSize: [64],
  params: PARAMS,
  inputs: 0,
  outputs: 1,
  source: () => `
${PARAMS.wgsl()}
@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
// ${CHAINS} independent vec4 FMA chains per invocation: the ALU ceiling
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let s = f32(gid.x) * 1e-9;
${[...Array(CHAINS).keys()].map((c) => `  var a${c} = vec4<f32>(s + ${c}.0, s, s, s);`).join('\n')}
  let m = vec4<f32>(0.9999999);
  let k = vec4<f32>(1e-7);
  for (var i = 0u; i < u.iters; i++) {
${[...Array(CHAINS).keys()].map((c) => `    a${c} = fma(a${c}, m, k);`).join('\n')}
  }
  out[gid.x] = ${[...Array(CHAINS).keys()].map((c) => `a${c}`).join(' + ')};
}`,
}));

/** FLOPs of one dispatch of fmaKernel with `iters` iterations (2 per FMA lane). */
export function fmaFlops(iters: number): number {
  return THREADS * iters * CHAINS * 4 * 2;
}

/** Records one dispatch of the ceiling kernel into `out` (THREADS vec4s). */
export function dispatchFma(gpu: WebGPUBackend, out: GPUBuffer, iters: number): void {
  gpu.rt.run(fmaKernel, [], [out], { iters }, THREADS / 64);
}

/** Measured FMA ceiling in GFLOP/s: the best of `reps` timings (GPU timestamps, else wall time + sync). */
export async function measureCeiling(gpu: WebGPUBackend, iters = 256, reps = 3): Promise<number> {
  const out = gpu.alloc('float32', THREADS * 4, 'bench');
  try {
    dispatchFma(gpu, out.buffer, iters); // compile + warm
    await gpu.sync();
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      const ms = await gpu.gpuTime(() => dispatchFma(gpu, out.buffer, iters));
      await gpu.sync();
      best = Math.min(best, ms ?? performance.now() - t0);
    }
    return fmaFlops(iters) / 1e6 / best;
  } finally {
    gpu.release(out);
  }
}
