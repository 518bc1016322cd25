// --backend cpu|wasm|webgpu. The default: WebGPU on a hardware adapter; else the wasm backend (WebAssembly
// SIMD, threads over shared memory), wherever the engine has WebAssembly SIMD (Node 20 always does); else the
// CPU backend. A software adapter (SwiftShader) is slower than both for this work, so it is never the default.
// Why wasm before cpu: a Finer-CAM measured 8× (ResNet-50) and 18× (ViT-S/14) faster on it, and
// `finercam generate` several times more images per second (bench/README.md, issue 9). A command whose
// published numbers come from the CPU reference (demo: its committed weights and the README's table) asks for
// { withoutGpu: 'cpu' }.
import * as F from '../index';

export async function chooseBackend(requested?: 'cpu' | 'webgpu' | 'wasm', opts: { withoutGpu?: 'wasm' | 'cpu' } = {}): Promise<'cpu' | 'webgpu' | 'wasm'> {
  if (requested) return F.setDefaultDevice(requested);
  const info = await webgpuInfo();
  if (info && !info.isFallbackAdapter) return F.setDefaultDevice('webgpu');
  if ((opts.withoutGpu ?? 'wasm') === 'wasm' && F.wasmSimdAvailable()) {
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
