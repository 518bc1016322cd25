// Models and CAMs on the wasm backend against the same reference numbers as the CPU tests (PyTorch, the
// official DINOv2 / Finer-CAM code, pytorch-grad-cam): the cases are model-cases.ts, shared with WebGPU.
// Features and gradients use TOL.model / TOL.modelGrad as on the CPU; CAM maps TOL.camWasm.
import { describe } from 'vitest';
import { TOL } from '../tolerances';
import { registerBackend } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/backend';
import { defineCamFixtureConformance, defineModelConformance } from './model-cases';

registerBackend(new WasmBackend());

describe('models on wasm', () => defineModelConformance('wasm', TOL.camWasm));
defineCamFixtureConformance('wasm', TOL.camWasm);
