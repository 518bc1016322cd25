// The one way a WGSL kernel is declared in this backend.
//
// A kernel is a compute shader specialised on a few facts (tile sizes, access modes, dtype, rank, fused
// epilogue). Everything that varies per call — sizes, strides, offsets — goes in its uniform `params`, so one
// compiled pipeline serves every shape. A declaration names:
//   * `key`: the kernel's name, then '|' and every fact the WGSL text depends on. It is the cache key of the
//     declaration here and of the compiled pipeline in the runtime, and the file name FINERCAM_WGSL_DUMP uses;
//   * `params`: the uniform layout (binding 0, `var<uniform> u: Params`);
//   * `inputs` / `outputs`: read-only storage bindings 1..inputs, then read_write ones;
//   * `workgroupSize`: what the WGSL's @workgroup_size says, so a dispatch can be computed from a shape
//     (`workgroupsFor`) and a reader of a dump knows the shape of a workgroup;
//   * `source()`: the WGSL text, built only when the runtime compiles the pipeline.
// The dispatch itself (how many workgroups a problem needs, which params it binds) is the caller's: each op
// module turns its views into params and a workgroup count and calls `Runtime.run`.
import type { UniformLayout } from './uniforms';

export interface Kernel {
  readonly key: string;
  readonly params: UniformLayout;
  readonly inputs: number;
  readonly outputs: number;
  readonly workgroupSize: readonly number[];
  /** The WGSL source; only called on a pipeline-cache miss. Binding 0 is `var<uniform> u: Params`. */
  source(): string;
}

export type KernelDeclaration = Omit<Kernel, 'key'>;

const declared = new Map<string, Kernel>();

/**
 * The kernel for `key`, declared once: `build` runs on the first request for a key and its result is reused
 * (building the declaration is cheap; the WGSL text is only made on a pipeline miss).
 */
export function defineKernel(key: string, build: () => KernelDeclaration): Kernel {
  let k = declared.get(key);
  if (!k) {
    const d = build();
    if (d.workgroupSize.length < 1 || d.workgroupSize.length > 3 || !d.workgroupSize.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new Error(`defineKernel ${key}: workgroupSize must be 1 to 3 positive integers, got ${JSON.stringify(d.workgroupSize)}`);
    }
    k = { key, ...d };
    declared.set(key, k);
  }
  return k;
}

/** Workgroups needed to cover `items` work items when one workgroup covers `perWorkgroup` of them. */
export function workgroupsFor(items: number, perWorkgroup: number): number {
  return Math.ceil(items / perWorkgroup);
}
