// `finercam bench-kernel FILE` — the kernel workbench (bench/workbench/): check a WGSL kernel variant
// against the CPU backend, then time it beside the built-in kernel and tfjs-webgpu on this adapter.
import { stat } from 'node:fs/promises';
import { UsageError, parseArgs, type OptionSpec } from '../args';
import { cpuBackend } from '../../kernels/cpu/index';
import { runWorkbench } from '../../bench/workbench/workbench';
import { VariantLoadError } from '../../bench/workbench/load-variant';
import { WORKBENCH_MODELS, type WorkbenchModel } from '../../bench/workbench/model';

export const BENCH_KERNEL_OPTIONS: Record<string, OptionSpec> = {
  model: { kind: 'string', help: 'also time a whole Finer-CAM (random weights) with the built-in kernel and with the variant', choices: WORKBENCH_MODELS },
  quick: { kind: 'boolean', help: 'smaller timing problems, fewer checks and repetitions' },
  runs: { kind: 'number', help: 'random problems in the correctness check (1..1000)', default: 40 },
  reps: { kind: 'number', help: 'timed repetitions per column, the best is reported (1..100)', default: 5 },
  'no-peer': { kind: 'boolean', help: 'do not time tfjs-webgpu even when it is installed' },
};

export async function benchKernel(argv: string[]): Promise<number> {
  const p = parseArgs(argv, BENCH_KERNEL_OPTIONS, 'bench-kernel');
  if (p.positionals.length !== 1) throw new UsageError('bench-kernel: expected one variant module (FILE.ts, .js or .mjs)');
  const file = p.positionals[0];
  try {
    if (!(await stat(file)).isFile()) throw new Error();
  } catch {
    throw new UsageError(`bench-kernel: variant module '${file}' does not exist`);
  }
  const int = (name: string, lo: number, hi: number): number => {
    const v = p.options[name] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`bench-kernel: --${name} must be an integer in ${lo}..${hi}, got ${v}`);
    return v;
  };
  const quick = Boolean(p.options.quick);
  const given = (name: string) => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  try {
    return await runWorkbench({
      file, cpu: cpuBackend, quick, noPeer: Boolean(p.options['no-peer']),
      model: p.options.model as WorkbenchModel | undefined,
      runs: quick && !given('runs') ? 15 : int('runs', 1, 1000),
      reps: quick && !given('reps') ? 2 : int('reps', 1, 100),
    });
  } catch (e) {
    if (e instanceof VariantLoadError) throw new UsageError(`bench-kernel: ${e.message}`);
    throw e;
  }
}
