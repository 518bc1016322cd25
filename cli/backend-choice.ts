// --backend cpu|wasm|webgpu. The default: WebGPU on a hardware adapter; else the wasm backend (WebAssembly
// SIMD, threads over shared memory), wherever the engine has WebAssembly SIMD (Node 20 always does); else the
// CPU backend. A software adapter (SwiftShader) is slower than both for this work, so it is never the default.
// Why wasm before cpu: a Finer-CAM measured 8× (ResNet-50) and 18× (ViT-S/14) faster on it, and
// `finercam generate` several times more images per second (bench/README.md, issue 9). Callers that must
// reproduce numbers computed on the CPU reference (the demo's committed weights) pass 'cpu' themselves.
import * as F from '../index';

export async function chooseBackend(requested?: 'cpu' | 'webgpu' | 'wasm'): Promise<'cpu' | 'webgpu' | 'wasm'> {
  if (requested) return F.setDefaultDevice(requested);
  const info = await webgpuInfo();
  if (info && !info.isFallbackAdapter) return F.setDefaultDevice('webgpu');
  if (F.wasmSimdAvailable()) {
    const got = await F.setDefaultDevice('wasm');
    if (got === 'wasm') return got;
  }
  return F.setDefaultDevice('cpu');
}

async function webgpuInfo(): Promise<{ isFallbackAdapter: boolean } | null> {
  const mod = F as unknown as { getWebGPUInfo?: () => Promise<{ isFallbackAdapter: boolean } | null> };
  if (!mod.getWebGPUInfo) return null;
  try {
    return await mod.getWebGPUInfo();
  } catch {
    return null;
  }
}
