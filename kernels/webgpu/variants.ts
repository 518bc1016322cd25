// Kernel variants: replace how the WebGPU backend computes one op, for the whole program.
//
// A variant is the op's backend method written with this backend's pieces (defineKernel, UniformLayout,
// Host.alloc, Runtime.run): it receives the same views and parameters as the built-in implementation and
// returns a fresh storage. `setKernelVariant(op, variant)` makes every call of that op — a single matmul, a
// whole ResNet, a Finer-CAM — go through it; `setKernelVariant(op, null)` restores the built-in one.
// The workbench (bench/workbench.ts, `finercam bench-kernel FILE`) checks a variant against the CPU backend
// before it times it. bench/variants/ holds two examples.
import type { Conv2dParams, Epilogue, View } from '../../core/backend';
import { convOutputSize, contiguousStrides } from '../../core/shape';
import type { Host } from './runtime/host';
import { bufferOf } from './runtime/host';
import { defineKernel, workgroupsFor } from './runtime/kernel';
import type { GpuStorage } from './runtime/storage';
import { UniformLayout } from './runtime/uniforms';
import { NO_EPILOGUE, epilogueKey, epilogueWgsl, hasEpilogue, prepareEpilogue } from './epilogue';
import { matmul } from './matmul';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv';
import { layerNorm, softmax } from './rows';

/** The ops a variant can replace, with the signature of the backend method it stands in for. */
export interface VariantSignatures {
  matmul(host: Host, a: View, b: View, epilogue?: Epilogue): GpuStorage;
  conv2d(host: Host, x: View, w: View, p: Conv2dParams, epilogue?: Epilogue): GpuStorage;
  conv2dBackwardInput(host: Host, gy: View, w: View, p: Conv2dParams, inputShape: readonly number[]): GpuStorage;
  conv2dBackwardWeight(host: Host, x: View, gy: View, p: Conv2dParams, weightShape: readonly number[]): GpuStorage;
  softmax(host: Host, x: View, log: boolean): GpuStorage;
  layerNorm(host: Host, x: View, weight: View | null, bias: View | null, eps: number): { y: GpuStorage; mean: GpuStorage; rstd: GpuStorage };
}

export type VariantOp = keyof VariantSignatures;
export const VARIANT_OPS: readonly VariantOp[] = ['matmul', 'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'softmax', 'layerNorm'];

export interface KernelVariant<O extends VariantOp = VariantOp> {
  op: O;
  /** Short name shown in reports. */
  name: string;
  description?: string;
  run: VariantSignatures[O];
}

/**
 * What a variant file gets to build kernels with. A variant module exports `default (kit) => variant`, so it
 * needs no runtime import of finercam (only `import type`): it works the same from a .ts file bundled by the
 * workbench, a plain .js file, or a program that calls setKernelVariant itself.
 */
export const variantKit = {
  defineKernel, workgroupsFor, UniformLayout, bufferOf, convOutputSize, contiguousStrides,
  epilogue: { NO_EPILOGUE, epilogueKey, epilogueWgsl, hasEpilogue, prepareEpilogue },
  /** The built-in implementations, to delegate the cases a variant does not handle. */
  builtin: {
    matmul: (host: Host, a: View, b: View, epilogue?: Epilogue) => matmul(host, a, b, {}, epilogue),
    conv2d, conv2dBackwardInput, conv2dBackwardWeight, softmax, layerNorm,
  } satisfies VariantSignatures,
};
export type VariantKit = typeof variantKit;

const active = new Map<VariantOp, KernelVariant>();

/** Routes every call of `op` on the WebGPU backend through `variant` (null: back to the built-in kernel). */
export function setKernelVariant<O extends VariantOp>(op: O, variant: KernelVariant<O> | null): void {
  if (!VARIANT_OPS.includes(op)) throw new TypeError(`setKernelVariant: op must be one of ${VARIANT_OPS.join(', ')}, got ${JSON.stringify(op)}`);
  if (variant === null) {
    active.delete(op);
    return;
  }
  if (typeof variant !== 'object' || variant.op !== op || typeof variant.run !== 'function') {
    throw new TypeError(`setKernelVariant: expected a variant object { op: '${op}', name, run(host, ...) }, got ${describe(variant)}`);
  }
  active.set(op, variant as KernelVariant);
}

export function getKernelVariant<O extends VariantOp>(op: O): KernelVariant<O> | null {
  return (active.get(op) as KernelVariant<O> | undefined) ?? null;
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  const o = v as Record<string, unknown>;
  return `{ op: ${JSON.stringify(o.op)}, name: ${JSON.stringify(o.name)}, run: ${typeof o.run} }`;
}
