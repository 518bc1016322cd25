// The wasm backend: importing this module registers it with core, so `setDefaultDevice('wasm')` creates it
// on first use (where the engine has WebAssembly SIMD; elsewhere the request falls back to the CPU backend).
import { getBackend, registerBackendFactory } from '../../core/device';
import { onCpuThreads } from '../../core/threads';
import { WasmBackend, WasmBackendError, createWasmBackend, wasmSimdAvailable } from './backend';
import type { WasmBackendOptions } from './backend';
import { WasmMemoryLimitError } from './memory';
import type { HeapStats } from './memory';

registerBackendFactory('wasm', async () => {
  const b = await createWasmBackend();
  // setCpuThreads(n) bounds the GEMM threads too (at most the workers the backend started with)
  if (b) onCpuThreads((n) => b.setThreads(n));
  return b;
});

export { WasmBackend, WasmBackendError, WasmMemoryLimitError, createWasmBackend, wasmSimdAvailable };
export type { WasmBackendOptions, HeapStats as WasmHeapStats };

/** Heap statistics of the registered wasm backend, or null if it was never created. */
export async function getWasmStats(): Promise<HeapStats | null> {
  const b = await getBackend('wasm');
  return b instanceof WasmBackend ? b.stats() : null;
}
