// The kernel workbench: `finercam bench-kernel FILE` / `npm run workbench -- FILE`.
//
// 1. loads the variant module (load-variant.ts);
// 2. checks it against the CPU reference backend on random problems (check.ts) and refuses to time a wrong
//    kernel, printing the smallest failing case;
// 3. times the built-in kernel, the variant and tfjs-webgpu on the same adapter with ONE timing policy:
//    GPU timestamp queries when the adapter has them (and tfjs reports kernel times from them too), else wall
//    time of the call including a readback of its output — for all three alike. Each figure is the best of
//    `reps` runs after a warm-up run that also compiles the pipelines;
// 4. prints GFLOP/s and the share of the adapter's measured vec4 FMA ceiling (ceiling.ts);
// 5. with --model, times a whole Finer-CAM (Grad-CAM base) with the built-in kernel and with the variant.
import type { Backend } from '../../core/backend';
import type { WebGPUBackend } from '../../kernels/webgpu/webgpu-backend';
import { createWebGPUBackend } from '../../kernels/webgpu/webgpu-backend';
import { setKernelVariant, type KernelVariant } from '../../kernels/webgpu/variants';
import { describeProblem, execProblem, flopsOf, prepareProblem, readOutput, timingProblem, type Problem } from './cases';
import { checkVariant, formatMismatch } from './check';
import { measureCeiling } from './ceiling';
import { loadVariant } from './load-variant';
import { loadTfjs } from './tfjs';
import { timeModel, WORKBENCH_MODELS, type WorkbenchModel } from './model';

export interface WorkbenchOptions {
  file: string;
  model?: WorkbenchModel;
  quick?: boolean;
  /** Random problems in the correctness check. */
  runs?: number;
  reps?: number;
  /** Skip tfjs even when installed. */
  noPeer?: boolean;
  /** Time this problem instead of the op's representative one (tests use tiny ones). */
  problem?: Problem;
  log?: (line: string) => void;
  /** The CPU reference backend (passed in so this module imports no backend but WebGPU's). */
  cpu: Backend;
}

export type Policy = 'gpu' | 'wall';

/** Best time of `reps` calls of the op on prepared operands, with the given policy. */
async function timeOurs(gpu: WebGPUBackend, p: Problem, policy: Policy, reps: number): Promise<number> {
  const prep = prepareProblem(gpu, p);
  try {
    const once = async (): Promise<number> => {
      let outs: ReturnType<typeof execProblem> = [];
      const t0 = performance.now();
      const gpuMs = policy === 'gpu' ? await gpu.gpuTime(() => { outs = execProblem(gpu, p, prep.views); }) : null;
      if (policy === 'wall') outs = execProblem(gpu, p, prep.views);
      if (policy === 'wall') await readOutput(gpu, outs[0]);
      const wall = performance.now() - t0;
      for (const o of outs) gpu.release(o.storage);
      return gpuMs ?? wall;
    };
    await once();
    let best = Infinity;
    for (let r = 0; r < reps; r++) best = Math.min(best, await once());
    return best;
  } finally {
    for (const s of prep.inputs) gpu.release(s);
  }
}

const fmt = (x: number, d = 2): string => x.toFixed(d);

export async function runWorkbench(o: WorkbenchOptions): Promise<number> {
  const log = o.log ?? ((l: string) => console.log(l));
  const variant: KernelVariant = await loadVariant(o.file);
  if (o.model && !WORKBENCH_MODELS.includes(o.model)) throw new Error(`--model: expected one of ${WORKBENCH_MODELS.join(', ')}, got '${o.model}'`);
  const gpu = await createWebGPUBackend({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
  if (!gpu) {
    log('bench-kernel: no WebGPU adapter here: nothing to check or time');
    return 1;
  }
  try {
    const info = gpu.info;
    log(`variant: ${variant.name} (${variant.op})${variant.description ? ` — ${variant.description}` : ''}`);
    log(`adapter: ${info.vendor} / ${info.architecture} / ${info.description} (fallback adapter: ${info.isFallbackAdapter})`);

    // 1. correctness first
    const runs = o.runs ?? (o.quick ? 15 : 40);
    setKernelVariant(variant.op, variant as never);
    const bad = await checkVariant(gpu, o.cpu, variant.op, runs);
    if (bad) {
      log(`REFUSED: the variant disagrees with the CPU backend, so it is not timed. Smallest failing case:\n  ${formatMismatch(bad)}`);
      return 1;
    }
    log(`check: ${runs} random problems agree with the CPU backend (TOL.workbench)`);

    // 2. one timing policy for everyone
    const reps = o.reps ?? (o.quick ? 2 : 5);
    const tf = o.noPeer ? 'skipped (--no-peer)' : await loadTfjs(gpu.rt.ctx.gpu);
    const policy: Policy = gpu.rt.ctx.hasTimestamps && (typeof tf === 'string' || tf.hasKernelTimes) ? 'gpu' : 'wall';
    log(`timing: ${policy === 'gpu' ? 'GPU timestamp queries (kernel time only)' : 'wall time of the call including a readback of its output'}, best of ${reps} after a warm-up, same for every column`);
    const ceiling = await measureCeiling(gpu);
    log(`adapter FMA ceiling: ${fmt(ceiling, 1)} GFLOP/s (vec4 FMA chains)`);

    const p = o.problem ?? timingProblem(variant.op, Boolean(o.quick));
    const flops = flopsOf(p);
    log(`problem: ${describeProblem(p)} (${fmt(flops / 1e9, 3)} GFLOP)`);
    setKernelVariant(variant.op, null);
    const builtinMs = await timeOurs(gpu, p, policy, reps);
    setKernelVariant(variant.op, variant as never);
    const variantMs = await timeOurs(gpu, p, policy, reps);
    const tfMs = typeof tf === 'string' ? null : await tf.time(p, policy, reps);
    setKernelVariant(variant.op, null);

    const line = (name: string, ms: number | null, note = ''): string => {
      if (ms === null) return `| ${name} | – | – | – | ${note} |`;
      const gf = flops / 1e6 / ms;
      return `| ${name} | ${fmt(ms, 3)} | ${fmt(gf, 1)} | ${fmt((100 * gf) / ceiling, 1)}% | ${note} |`;
    };
    log('');
    log('| kernel | ms | GFLOP/s | of FMA ceiling | |');
    log('|---|---|---|---|---|');
    log(line('built-in', builtinMs));
    log(line(`variant ${variant.name}`, variantMs, `${fmt(builtinMs / variantMs)}× the built-in's speed`));
    log(line('tfjs-webgpu', tfMs, typeof tf === 'string' ? tf : tfMs === null ? 'no equivalent op' : `variant is ${fmt(tfMs / variantMs)}× tfjs's speed`));

    // 3. a whole model
    if (o.model) {
      log('');
      log(`model: Finer-CAM (Grad-CAM base) on ${o.model}, wall time of forward + backward + CAM readback, best of ${reps}`);
      const base = await timeModel(gpu, o.model, reps);
      setKernelVariant(variant.op, variant as never);
      let withVariant: number;
      try {
        withVariant = await timeModel(gpu, o.model, reps);
      } finally {
        setKernelVariant(variant.op, null);
      }
      log(`| ${o.model} | built-in ${fmt(base, 1)} ms | variant ${fmt(withVariant, 1)} ms | ${fmt(base / withVariant)}× |`);
    }
    return 0;
  } finally {
    setKernelVariant(variant.op, null);
    gpu.destroy();
  }
}
