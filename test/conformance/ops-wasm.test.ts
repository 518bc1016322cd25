// The cross-backend op suite (op-cases.ts) on the wasm backend: every front-end op, forward and backward,
// against the CPU reference backend within TOL.crossBackend. Runs wherever WebAssembly SIMD exists (Node 20
// has it), so there is no skip; the relaxed-SIMD GEMM is covered by test/wasm/gemm-relaxed.test.ts.
import { describe } from 'vitest';
import { registerBackend } from '../../core/device';
import { WasmBackend } from '../../kernels/wasm/backend';
import { defineOpConformance } from './op-cases';

registerBackend(new WasmBackend());

describe('front-end ops: wasm agrees with the CPU backend, forward and backward', () => {
  defineOpConformance('wasm');
});
