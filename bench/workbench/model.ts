// A whole Finer-CAM on the workbench's WebGPU device: a seeded random-weight model (no weights are downloaded),
// Grad-CAM base, one image. The kernel variant under test is active or not around the call.
import * as F from '../../index';
import { forgetBackend, registerBackend } from '../../core/device';
import type { WebGPUBackend } from '../../kernels/webgpu/webgpu-backend';

export const WORKBENCH_MODELS = ['resnet18', 'resnet50', 'dinov2_vits14'] as const;
export type WorkbenchModel = (typeof WORKBENCH_MODELS)[number];

function build(name: WorkbenchModel): { model: F.Module; cam: F.FinerCAM; size: number } {
  if (name === 'dinov2_vits14') {
    const model = F.dinov2Vits14();
    const cam = new F.FinerCAM({ model, targetLayers: ['blocks.-1.norm1'], baseMethod: F.GradCAM, reshapeTransform: F.vitReshapeTransform({ prefixTokens: 1, patchSize: 14 }) });
    return { model, cam, size: 224 };
  }
  const model = name === 'resnet18' ? F.resnet18() : F.resnet50();
  return { model, cam: new F.FinerCAM({ model, targetLayers: ['layer4'], baseMethod: F.GradCAM }), size: 224 };
}

/** Best wall time (ms) of `reps` Finer-CAM passes, after one warm-up pass. */
export async function timeModel(gpu: WebGPUBackend, name: WorkbenchModel, reps: number): Promise<number> {
  registerBackend(gpu);
  await F.setDefaultDevice('webgpu');
  F.manualSeed(0);
  const { model, cam, size } = build(name);
  model.eval();
  const x = F.randn([1, 3, size, size]);
  try {
    const once = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await cam.forward({ inputTensor: x });
      await r.cam.data();
      r.cam.dispose();
      r.outputs.dispose();
      return performance.now() - t0;
    };
    await once();
    let best = Infinity;
    for (let i = 0; i < reps; i++) best = Math.min(best, await once());
    return best;
  } finally {
    x.dispose();
    model.dispose?.();
    await F.setDefaultDevice('cpu');
    forgetBackend('webgpu');
  }
}
