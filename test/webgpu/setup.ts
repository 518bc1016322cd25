// One WebGPU device per test process (vitest runs each test file in its own forked process), created on
// import with top-level await. With CI set, a missing adapter fails the suite; otherwise the GPU tests are
// skipped with a loud message.
import { afterAll, describe, it } from 'vitest';
import { createWebGPUBackend } from '../../kernels/webgpu/webgpu-backend';
import type { WebGPUBackend } from '../../kernels/webgpu/webgpu-backend';

const g = globalThis as { __finercamTestGpu?: Promise<WebGPUBackend | null> };

async function open(): Promise<WebGPUBackend | null> {
  try {
    return await createWebGPUBackend();
  } catch (e) {
    console.error('WebGPU backend creation threw:', e);
    return null;
  }
}

export const gpu: WebGPUBackend | null = await (g.__finercamTestGpu ??= open());

const inCI = Boolean(process.env.CI);
if (!gpu) {
  const msg = '\n*** NO WEBGPU ADAPTER: the WebGPU backend tests are ' + (inCI ? 'FAILING (CI is set) ***\n' : 'SKIPPED (set CI=1 to make this an error) ***\n');
  console.warn(msg);
}

/** `describe` for suites that need the GPU backend. */
export function describeGpu(name: string, fn: (b: WebGPUBackend) => void): void {
  if (gpu) {
    describe(name, () => fn(gpu));
  } else if (inCI) {
    describe(name, () => {
      it('has a WebGPU adapter', () => {
        throw new Error('No WebGPU adapter is available, and CI is set: the WebGPU backend cannot be tested');
      });
    });
  } else {
    // Outside CI without an adapter: reported as skipped (and announced above), never silently passed.
    describe.skipIf(gpu === null)(name, () => {
      it('needs a WebGPU adapter', () => {
        throw new Error('unreachable: this suite is skipped when no adapter exists');
      });
    });
  }
}

let teardownRegistered = false;
/** Destroys the device after the file's tests (dawn.node keeps the process alive while a device exists). */
export function useGpuTeardown(): void {
  if (teardownRegistered) return;
  teardownRegistered = true;
  afterAll(() => {
    gpu?.destroy();
    delete g.__finercamTestGpu;
  });
}
