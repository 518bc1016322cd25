// Public API of the tensor core.
import './tensor-methods';

export { Tensor, isTensor } from './tensor';
export type { GradHook, HookHandle } from './tensor';
export type { DType, TypedArray } from './dtype';
export type { Backend, Storage, View } from './backend';
export { tidy, keep } from './scope';
export { noGrad, enableGrad, isGradEnabled } from './grad-mode';
export { grad, backward, autogradStats, resetAutogradStats } from './autograd';
export type { GradOptions } from './autograd';
export { manualSeed, makeRng } from './random';
export { setDefaultDevice, getDefaultBackend, getBackend, registerBackendFactory } from './device';
export type { DeviceName } from './device';
export { cpuBackend } from './cpu/backend';
export * from './ops/creation';
export * from './ops/elementwise';
export * from './ops/reduce';
export * from './ops/views';
export * from './ops/matmul';
export * from './ops/conv';
export * from './ops/pool';
export * from './ops/interpolate';
export * from './ops/softmax';
export * from './ops/loss';
export * from './ops/norm';
export * from './ops/indexing';
export * from './ops/attention';
