// Which WebAssembly features this engine has, decided by validating tiny modules (no exceptions, no
// compilation beyond the check): SIMD is required by the wasm backend; relaxed SIMD (f32x4.relaxed_madd) is
// used when present; shared memory (threads) when SharedArrayBuffer exists and a shared memory validates.
import { ModuleBuilder } from './module';

function validates(build: (m: ModuleBuilder) => void, memoryShared = false): boolean {
  try {
    const m = new ModuleBuilder(memoryShared ? { initialPages: 1, maximumPages: 1, shared: true } : null, { relaxedSimd: true });
    build(m);
    return WebAssembly.validate(m.bytes());
  } catch {
    return false;
  }
}

export interface EngineFeatures {
  simd: boolean;
  relaxedSimd: boolean;
  sharedMemory: boolean;
}

let cached: EngineFeatures | null = null;

export function detectFeatures(): EngineFeatures {
  if (cached) return cached;
  const hasWasm = typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';
  const simd = hasWasm && validates((m) => m.func('probe', { a: 'v128' }, ['v128'], (f) => f.value('v128', f.f32x4.add(f.get('a'), f.get('a')))));
  const relaxedSimd = simd && validates((m) => m.func('probe', { a: 'v128' }, ['v128'], (f) => f.value('v128', f.f32x4.madd(f.get('a'), f.get('a'), f.get('a')))));
  const sharedMemory = hasWasm && typeof SharedArrayBuffer === 'function' && validates((m) => m.func('probe', {}, [], () => {}), true);
  cached = { simd, relaxedSimd, sharedMemory };
  return cached;
}
