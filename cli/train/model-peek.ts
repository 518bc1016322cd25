// What --model names, known without building it or reading weights, so that train-probe can refuse a
// ResNet or a crop size the patch size does not divide before anything is loaded. The loaded model is
// checked again afterwards (this is a fast path for the error, not the authority).
import { readFile } from 'node:fs/promises';
import { PRESET_NAMES } from '../model-spec';

export interface BackbonePeek {
  kind: 'vit' | 'resnet';
  /** The ViT patch size; null for ResNets. */
  patchSize: number | null;
}

/** null when --model is neither a known preset nor a readable options JSON (loadModel then says why). */
export async function peekBackbone(model: string): Promise<BackbonePeek | null> {
  if (PRESET_NAMES.includes(model)) {
    if (model.startsWith('resnet')) return { kind: 'resnet', patchSize: null };
    // Preset names end in their patch size: dinov2_vitb14, dinov2_vitb14_reg, vit_base16.
    const m = /(\d+)(?:_reg)?$/.exec(model);
    return { kind: 'vit', patchSize: m ? Number(m[1]) : null };
  }
  if (!model.endsWith('.json')) return null;
  let o: unknown;
  try {
    o = JSON.parse(await readFile(model, 'utf8'));
  } catch {
    return null;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return null;
  const opts = o as Record<string, unknown>;
  // model-spec's rule for options files: a 'block' (or kind 'resnet') makes a ResNet
  if (opts.kind === 'resnet' || Object.hasOwn(opts, 'block')) return { kind: 'resnet', patchSize: null };
  const ps = opts.patchSize === undefined ? 16 : opts.patchSize; // visionTransformer's default
  return { kind: 'vit', patchSize: Number.isInteger(ps) && (ps as number) > 0 ? (ps as number) : null };
}
