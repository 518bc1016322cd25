// --backend cpu|wasm|webgpu. The default is WebGPU only on a hardware adapter; a software adapter
// (SwiftShader) is slower than the CPU backend for this work, so the CPU backend is chosen there. The wasm
// backend is opt-in until its CAM-level speed is measured (issue 9).
import * as F from '../index';

export async function chooseBackend(requested?: 'cpu' | 'webgpu' | 'wasm'): Promise<'cpu' | 'webgpu' | 'wasm'> {
  if (requested) return F.setDefaultDevice(requested);
  const info = await webgpuInfo();
  if (info && !info.isFallbackAdapter) return F.setDefaultDevice('webgpu');
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
