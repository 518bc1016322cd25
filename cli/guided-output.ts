// --method guided-gradcam (explain, generate): Grad-CAM maps times guided backprop of the main class,
// deprocessed as pytorch-grad-cam's cam.py does. Guided backprop needs ReLU modules (ResNets, not ViTs).
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as F from '../index';
import { UsageError } from './args';
import { resizeCam } from './image-io';

export function checkGuidedModel(model: F.Module, command: string): void {
  if (F.findLayerPredicate(model, (l) => l instanceof F.ReLU).length === 0) {
    throw new UsageError(`${command}: --method guided-gradcam needs a model with ReLU activations (a ResNet); this model has none`);
  }
}

/** The guided gradient (H×W×3 at the model input's size) of `category` for the first image. */
export function guidedBackprop(model: F.Module, input: F.Tensor, category: number): Promise<F.Tensor> {
  return new F.GuidedBackpropReLUModel(model).forward({ inputTensor: input, targetCategory: category });
}

/** deprocess(cam ⊙ gb) with the map (h×w) resized to gb's size. */
export async function guidedTile(gb: F.Tensor, cam: Float32Array, h: number, w: number): Promise<F.RgbImage> {
  const [H, W] = gb.shape;
  const img = await F.guidedGradCam(F.tensor(resizeCam(cam, h, w, W, H), [H, W], { device: gb.device }), gb);
  return { width: img.width, height: img.height, data: img.data };
}

/** generate --resume: the sidecar names a guided PNG for every mode and the files exist. */
export async function guidedComplete(dir: string, key: string, modes: readonly string[]): Promise<boolean> {
  try {
    const s = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as { modes?: Record<string, { guided?: string }> };
    for (const m of modes) {
      const name = s.modes?.[m]?.guided;
      if (name !== `${key}.${m}.guided.png`) return false;
      await stat(join(dir, name));
    }
    return true;
  } catch {
    return false;
  }
}
