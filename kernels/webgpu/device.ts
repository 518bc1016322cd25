// Adapter and device acquisition for the WebGPU backend.
//
// Browsers expose `navigator.gpu`; in Node the optional `webgpu` package (Dawn's node bindings) supplies a
// GPU object through `create()`. That package is imported lazily and only in Node, so a browser bundle never
// touches it. Two Dawn rules shape this file:
//   * the object returned by `create()` must stay reachable for as long as any device made from it lives —
//     if it is garbage collected Dawn tears the instance down under the device (segfaults, futex errors) —
//     so it is pinned in a module-level variable and on globalThis;
//   * an adapter is consumed by one `requestDevice`, so every device gets a fresh adapter.
// We request the adapter's own limits (buffer sizes, workgroup storage) rather than the spec defaults, and the
// optional features our kernels can use when present: timestamp-query, subgroups, shader-f16.

import { isNode, nodeBuiltin } from '../../core/node-builtins';

export interface WebGPUInfo {
  /** 'browser' when navigator.gpu was used, 'node' for the `webgpu` (Dawn) package. */
  runtime: 'browser' | 'node';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software adapters such as SwiftShader. */
  isFallbackAdapter: boolean;
  /** Optional features enabled on the device. */
  features: string[];
  /** The limits the device was created with (compute-relevant subset). */
  limits: Record<string, number>;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
}

export interface GpuContext {
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly info: WebGPUInfo;
  readonly hasTimestamps: boolean;
  readonly hasSubgroups: boolean;
  readonly hasF16: boolean;
  /** Validation / out-of-memory errors no one captured, oldest first (the backend rethrows them on read). */
  readonly errors: string[];
  /** Set once the device is lost (including by destroy()). */
  lost: { reason: string; message: string } | null;
  /** Called once when the device is lost for a reason other than destroy(). */
  onLost: ((reason: string, message: string) => void) | null;
  destroy(): void;
}

export interface AcquireOptions {
  /** Extra Dawn toggles for Node, e.g. ['disable-dawn-features=timestamp_quantization']. */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
  /** Ask for a software adapter even when a hardware one exists. */
  forceFallbackAdapter?: boolean;
}

const OPTIONAL_FEATURES: GPUFeatureName[] = ['timestamp-query', 'subgroups', 'shader-f16'];

/** Limits we raise to the adapter's values; the rest keep their spec defaults. */
const LIMITS_WANTED = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
] as const;

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// Pinned GPU objects from Dawn's create(): see the lifetime rule above. One per flag set.
const pinnedGpus = new Map<string, GPU>();

async function nodeGpu(flags: string[]): Promise<GPU | null> {
  const key = flags.join('\u0000');
  const have = pinnedGpus.get(key);
  if (have) return have;
  const proc = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process;
  if (!proc.env.VK_ICD_FILENAMES) {
    // No GPU driver configured: use SwiftShader from the system Chromium when it is installed.
    try {
      const fs = await nodeBuiltin<typeof import('node:fs')>('node:fs');
      if (fs?.existsSync(SWIFTSHADER_ICD)) {
        proc.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
        proc.env.XDG_RUNTIME_DIR ??= '/tmp'; // the Vulkan loader complains without one
      }
    } catch {
      // not fatal: Dawn picks whatever the loader finds
    }
  }
  let mod: { create(flags: string[]): GPU; globals: object };
  try {
    const name = 'webgpu'; // kept in a variable so bundlers and tsc leave this optional dependency alone
    mod = await import(/* @vite-ignore */ name);
  } catch {
    return null;
  }
  // Dawn's GPU* classes (GPUBufferUsage, GPUMapMode, ...) as globals, as in a browser.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const gpu = mod.create(flags);
  pinnedGpus.set(key, gpu);
  const g = globalThis as { __finercamDawnGpus?: GPU[] };
  (g.__finercamDawnGpus ??= []).push(gpu);
  return gpu;
}

async function findGpu(flags: string[]): Promise<{ gpu: GPU; runtime: 'browser' | 'node' } | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, runtime: 'browser' };
  if (!isNode()) return null;
  const gpu = await nodeGpu(flags);
  return gpu ? { gpu, runtime: 'node' } : null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Acquires an adapter and a device, or returns null when there is no WebGPU adapter at all. */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<GpuContext | null> {
  const found = await findGpu(opts.dawnFlags ?? []);
  if (!found) return null;
  const { gpu, runtime } = found;
  const adapter = await gpu.requestAdapter({
    powerPreference: opts.powerPreference ?? 'high-performance',
    forceFallbackAdapter: opts.forceFallbackAdapter ?? false,
  });
  if (!adapter) return null;

  const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  const alimits = adapter.limits as unknown as Record<string, number>;
  for (const name of LIMITS_WANTED) {
    const v = alimits[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });

  const ainfo = (adapter as unknown as { info?: Record<string, unknown> }).info ?? {};
  const fallback = Boolean(ainfo.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  const dlimits = device.limits as unknown as Record<string, number>;
  const limits: Record<string, number> = {};
  for (const name of LIMITS_WANTED) limits[name] = dlimits[name];
  for (const name of ['minUniformBufferOffsetAlignment', 'minStorageBufferOffsetAlignment']) limits[name] = dlimits[name];
  const info: WebGPUInfo = {
    runtime,
    vendor: str(ainfo.vendor),
    architecture: str(ainfo.architecture),
    device: str(ainfo.device),
    description: str(ainfo.description),
    isFallbackAdapter: fallback,
    features: [...features],
    limits,
    subgroupMinSize: typeof ainfo.subgroupMinSize === 'number' ? ainfo.subgroupMinSize : undefined,
    subgroupMaxSize: typeof ainfo.subgroupMaxSize === 'number' ? ainfo.subgroupMaxSize : undefined,
  };

  const ctx: GpuContext = {
    gpu,
    adapter,
    device,
    info,
    hasTimestamps: features.includes('timestamp-query'),
    hasSubgroups: features.includes('subgroups'),
    hasF16: features.includes('shader-f16'),
    errors: [],
    lost: null,
    onLost: null,
    destroy() {
      if (!ctx.lost) ctx.lost = { reason: 'destroyed', message: 'device.destroy() was called' };
      device.destroy();
    },
  };

  device.addEventListener('uncapturederror', (ev) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    const kind = e.constructor?.name ?? 'GPUError';
    const msg = `WebGPU ${kind}: ${e.message}`;
    ctx.errors.push(msg);
    console.error(`finercam: ${msg}`);
  });
  void device.lost.then((li) => {
    const reason = String(li.reason ?? 'unknown');
    const already = ctx.lost;
    ctx.lost = { reason, message: li.message };
    if (reason === 'destroyed' || already) return;
    console.error(`finercam: the WebGPU device was lost (${reason}): ${li.message}`);
    ctx.onLost?.(reason, li.message);
  });
  return ctx;
}
