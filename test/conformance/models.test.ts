// Models and CAMs on the WebGPU backend against the same reference numbers as the CPU tests (the cases:
// model-cases.ts, shared with models-wasm.test.ts).
import { TOL } from '../tolerances';
import { describeGpu, gpu, useGpuTeardown } from '../webgpu/setup';
import { registerBackend } from '../../core/device';
import { defineCamFixtureConformance, defineModelConformance } from './model-cases';

useGpuTeardown();
if (gpu) registerBackend(gpu);

describeGpu('models on WebGPU', () => defineModelConformance('webgpu', TOL.camWebgpu));
defineCamFixtureConformance('webgpu', TOL.camWebgpu, (name, fn) => describeGpu(name, () => fn()));
