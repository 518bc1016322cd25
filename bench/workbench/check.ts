// Correctness before speed: a variant is run on random problems beside the CPU reference backend, and the
// first disagreement (shrunk by fast-check to a small case) is returned so the workbench can refuse to time it.
import fc from 'fast-check';
import type { Backend } from '../../core/backend';
import type { WebGPUBackend } from '../../kernels/webgpu/webgpu-backend';
import type { VariantOp } from '../../kernels/webgpu/variants';
import { arbitraryProblem, describeProblem, execProblem, prepareProblem, readOutput, type Outputs, type Problem } from './cases';

import { TOL } from '../../test/tolerances';

/** |gpu − cpu| ≤ atol + rtol·|cpu|: TOL.workbench, justified in test/tolerances.ts with the others. */
export const CHECK_TOL = TOL.workbench;

export interface Mismatch {
  problem: Problem;
  text: string;
}

/** Compares one problem; returns a description of the first bad element, or null when all agree. */
export async function compareProblem(gpu: WebGPUBackend, cpu: Backend, p: Problem): Promise<string | null> {
  const refIn = prepareProblem(cpu, p);
  const ref = execProblem(cpu, p, refIn.views);
  const gpuIn = prepareProblem(gpu, p);
  let got: Outputs = [];
  try {
    try {
      got = execProblem(gpu, p, gpuIn.views);
    } catch (e) {
      return `the variant threw: ${(e as Error).message}`;
    }
    for (let o = 0; o < ref.length; o++) {
      const want = await readOutput(cpu, ref[o]);
      let have: Float32Array;
      try {
        have = await readOutput(gpu, got[o]);
      } catch (e) {
        return `output ${o} cannot be read: ${(e as Error).message}`;
      }
      if (have.length !== want.length) return `output ${o} has ${have.length} elements, expected ${want.length}`;
      for (let i = 0; i < want.length; i++) {
        const w = want[i];
        const h = have[i];
        const bad = Number.isNaN(w) ? !Number.isNaN(h) : !(Math.abs(h - w) <= CHECK_TOL.atol + CHECK_TOL.rtol * Math.abs(w));
        if (bad) return `output ${o}, element ${i}: got ${h}, expected ${w} (CPU backend)`;
      }
    }
    return null;
  } finally {
    for (const s of [...gpuIn.inputs, ...got.map((x) => x.storage)]) gpu.release(s);
  }
}

/** Runs `runs` random problems; the first failure is shrunk to a minimal case. */
export async function checkVariant(gpu: WebGPUBackend, cpu: Backend, op: VariantOp, runs = 40, seed = 1): Promise<Mismatch | null> {
  let last = null as Mismatch | null;
  const result = await fc.check(
    fc.asyncProperty(arbitraryProblem(op), async (p) => {
      const text = await compareProblem(gpu, cpu, p);
      if (text) last = { problem: p, text };
      return text === null;
    }),
    { numRuns: runs, seed },
  );
  if (!result.failed) return null;
  // fast-check's last failing run is the shrunk counterexample
  const shrunk = result.counterexample?.[0] as Problem | undefined;
  if (shrunk) return { problem: shrunk, text: (await compareProblem(gpu, cpu, shrunk)) ?? last?.text ?? 'failed' };
  return last;
}

export function formatMismatch(m: Mismatch): string {
  return `${describeProblem(m.problem)}\n    ${m.text}`;
}
