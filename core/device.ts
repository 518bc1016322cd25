// Which backend new tensors go to. core/ imports no backend: each backend registers itself when its module
// is imported (kernels/cpu/index.ts registers the CPU reference backend and makes it the default;
// kernels/webgpu/index.ts registers a factory for 'webgpu'), and the package entry (index.ts) imports them.
import type { Backend } from './backend';

export type DeviceName = 'cpu' | 'webgpu' | 'wasm';
const DEVICE_NAMES: readonly DeviceName[] = ['cpu', 'webgpu', 'wasm'];

const backends = new Map<DeviceName, Backend>();
const factories = new Map<DeviceName, () => Promise<Backend | null>>();
let current: Backend | null = null;
let warnedFallback = false;

export function registerBackendFactory(name: DeviceName, factory: () => Promise<Backend | null>): void {
  factories.set(name, factory);
}

/** Registers a ready backend; the first one registered becomes the default until setDefaultDevice. */
export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
  current ??= backend;
}

/** The reference backend everything falls back to. */
function fallbackBackend(): Backend {
  const cpu = backends.get('cpu');
  if (!cpu) throw new Error("finercam: no 'cpu' backend is registered; import 'finercam' (index.ts) rather than core/ alone");
  return cpu;
}

export function getDefaultBackend(): Backend {
  return current ?? fallbackBackend();
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
  if (current?.name === name) current = fallbackBackend();
}

function checkDeviceName(name: unknown, argName: string): asserts name is DeviceName {
  if (!DEVICE_NAMES.includes(name as DeviceName)) {
    throw new TypeError(`${argName}: expected ${DEVICE_NAMES.map((n) => `'${n}'`).join(' or ')}, got ${JSON.stringify(name)}`);
  }
}

export function getBackendSync(name: DeviceName, argName = 'device'): Backend {
  const b = backends.get(name);
  if (b) return b;
  checkDeviceName(name, argName);
  throw new Error(`${argName}: the '${name}' backend is not initialised; call await setDefaultDevice('${name}') first`);
}

/**
 * Chooses where new tensors live. Asking for a device that does not exist here (no WebGPU adapter) falls back
 * to the CPU backend and says so once (console.warn); the returned name is the device actually in use.
 */
export async function setDefaultDevice(name: DeviceName): Promise<DeviceName> {
  checkDeviceName(name, 'setDefaultDevice');
  const b = await getBackend(name);
  if (b) {
    current = b;
    return b.name;
  }
  if (!warnedFallback) {
    warnedFallback = true;
    console.warn(`finercam: no '${name}' device is available here; using the CPU backend.`);
  }
  current = fallbackBackend();
  return 'cpu';
}
