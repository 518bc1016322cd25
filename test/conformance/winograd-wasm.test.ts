// The wasm backend with every eligible convolution (3×3, stride 1, dilation 1, one group) forced through
// Winograd F(2×2,3×3) (kernels/wasm/winograd-kernel.ts): the fixture ResNets are too narrow for the backend's
// own per-layer choice to pick it (winogradPays), so without forcing, the model fixtures would not exercise it.
// The ResNet CAM fixtures (every method and Finer-CAM, BatchNorm folded as on any wasm model) against the
// PyTorch references within TOL.camWasm, and the cross-backend op suite (forward and backward) against the CPU.
import { describe } from 'vitest';
import { registerBackend } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/backend';
import { TOL } from '../tolerances';
import { defineCamFixtureConformance } from './model-cases';
import { defineOpConformance } from './op-cases';

const backend = new WasmBackend();
backend.setConvAlgorithm('winograd');
registerBackend(backend);

defineCamFixtureConformance('wasm', TOL.camWasm, (name, fn) => describe(`${name} (Winograd forced)`, fn));
describe('front-end ops on wasm with Winograd forced: agree with the CPU backend', () => {
  defineOpConformance('wasm');
});
