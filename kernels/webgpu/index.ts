// The WebGPU backend: importing this module registers it with core, so `setDefaultDevice('webgpu')` can
// create it on first use. Node needs the optional `webgpu` package; browsers use navigator.gpu.
import { getBackend, registerBackendFactory } from '../../core/device';
import type { WebGPUInfo } from './device';
import { WebGPUBackend, createWebGPUBackend } from './webgpu-backend';
import type { WebGPUBackendOptions } from './webgpu-backend';

registerBackendFactory('webgpu', () => createWebGPUBackend());

export { WebGPUBackend, createWebGPUBackend };
export type { WebGPUBackendOptions, WebGPUInfo };
export type { RuntimeStats } from './runtime/runtime';
export { setKernelVariant, getKernelVariant, variantKit, VARIANT_OPS } from './variants';
export type { KernelVariant, VariantOp, VariantSignatures, VariantKit } from './variants';
export type { Kernel, KernelDeclaration } from './runtime/kernel';
export type { Host } from './runtime/host';
export { setMatmulStrategy } from './matmul';
export type { MatmulStrategy } from './matmul';
export { setConvStrategy } from './conv';
export type { ConvStrategy } from './conv';

/** Adapter facts of the registered WebGPU backend (creating it if needed), or null without an adapter. */
export async function getWebGPUInfo(): Promise<WebGPUInfo | null> {
  const b = await getBackend('webgpu');
  return b instanceof WebGPUBackend ? b.info : null;
}

/** Buffer-pool and dispatch statistics of the registered WebGPU backend, or null if it was never created. */
export async function getWebGPUStats(): Promise<ReturnType<WebGPUBackend['stats']> | null> {
  const b = await getBackend('webgpu');
  return b instanceof WebGPUBackend ? b.stats() : null;
}
