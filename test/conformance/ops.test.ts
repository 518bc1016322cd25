// Two backends, one truth: every front-end op runs on the CPU reference backend and on WebGPU with the
// same inputs and must agree forward and backward (the cases and the runner: op-cases.ts, shared with the
// wasm backend's ops-wasm.test.ts). Tolerance: TOL.crossBackend.
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
import { defineOpConformance } from './op-cases';

useGpuTeardown();
// Tensors made with {device: 'webgpu'} go to the test process's shared device.
if (gpu) registerBackend(gpu);

describeGpu('front-end ops: WebGPU agrees with the CPU backend, forward and backward', () => {
  defineOpConformance('webgpu');
});
