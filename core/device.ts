// Which backend new tensors go to. The CPU backend is always there; others register a factory
// (kernels/ registers 'webgpu') and are created on first use by setDefaultDevice.
import type { Backend } from './backend';
import { cpuBackend } from './cpu/backend';

export type DeviceName = 'cpu' | 'webgpu';

const backends = new Map<DeviceName, Backend>([['cpu', cpuBackend]]);
const factories = new Map<DeviceName, () => Promise<Backend | null>>();
let current: Backend = cpuBackend;
let warnedFallback = false;

export function registerBackendFactory(name: DeviceName, factory: () => Promise<Backend | null>): void {
  factories.set(name, factory);
}

export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

export function getDefaultBackend(): Backend {
  return current;
}

/** The backend for a device name, creating it if needed. Returns null if the device is unavailable. */
export async function getBackend(name: DeviceName): Promise<Backend | null> {
  const have = backends.get(name);
  if (have) return have;
  const factory = factories.get(name);
  if (!factory) return null;
  const b = await factory();
  if (b) backends.set(name, b);
  return b;
}

/** Drops a backend (after device loss or destroy) so the next request creates a fresh one. */
export function forgetBackend(name: DeviceName): void {
  if (name === 'cpu') return;
  backends.delete(name);
  if (current.name === name) current = cpuBackend;
}

export function getBackendSync(name: DeviceName, argName = 'device'): Backend {
  const b = backends.get(name);
  if (b) return b;
  if (name !== 'cpu' && name !== 'webgpu') {
    throw new TypeError(`${argName}: expected 'cpu' or 'webgpu', got ${JSON.stringify(name)}`);
  }
  throw new Error(`${argName}: the '${name}' backend is not initialised; call await setDefaultDevice('${name}') first`);
}

/**
 * Chooses where new tensors live. Asking for 'webgpu' where no adapter exists falls back to the CPU
 * backend and says so once (console.warn); the returned name is the device actually in use.
 */
export async function setDefaultDevice(name: DeviceName): Promise<DeviceName> {
  if (name !== 'cpu' && name !== 'webgpu') {
    throw new TypeError(`setDefaultDevice: expected 'cpu' or 'webgpu', got ${JSON.stringify(name)}`);
  }
  const b = await getBackend(name);
  if (b) {
    current = b;
    return b.name;
  }
  if (!warnedFallback) {
    warnedFallback = true;
    console.warn(`finercam: no '${name}' device is available here; using the CPU backend.`);
  }
  current = cpuBackend;
  return 'cpu';
}
